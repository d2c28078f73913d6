"""Why a sign-in is refused: one named error per reason (the API returns the name)."""
from __future__ import annotations


class SignInError(Exception):
    """A sign-in refused; the subclass names why."""


class MalformedMessage(SignInError):
    pass


class BadSignature(SignInError):
    pass


class WrongDomain(SignInError):
    pass


class WrongUri(SignInError):
    pass


class WrongVersion(SignInError):
    pass


class WrongChain(SignInError):
    pass


class IssuedInFuture(SignInError):
    pass


class Stale(SignInError):
    """Issued At older than the policy's maximum age."""


class Expired(SignInError):
    pass


class NotYetValid(SignInError):
    pass


class NonceUnknown(SignInError):
    """Never issued here, malformed, or past its TTL."""


class NonceReused(SignInError):
    pass
