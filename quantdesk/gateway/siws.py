"""Sign-In-With-Solana: the message a wallet's `solana:signIn` signs, rendered, parsed and verified.

The text is the Wallet Standard's (EIP-4361 with "Solana account"):

    <domain> wants you to sign in with your Solana account:
    <address>

    <statement>

    URI: <uri>
    Version: <version>
    Chain ID: <chain id>
    Nonce: <nonce>
    Issued At: <ISO 8601>
    Expiration Time: <ISO 8601>
    Not Before: <ISO 8601>
    Request ID: <request id>
    Resources:
    - <resource>

The statement and every field are optional; the fields that are present come in this order, one each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from solders.pubkey import Pubkey
from solders.signature import Signature

from quantdesk.gateway.errors import (
    BadSignature,
    Expired,
    IssuedInFuture,
    MalformedMessage,
    NotYetValid,
    Stale,
    WrongChain,
    WrongDomain,
    WrongUri,
    WrongVersion,
)
from quantdesk.gateway.nonces import NonceBook

HEADER_SUFFIX = " wants you to sign in with your Solana account:"
RESOURCES = "Resources:"
RESOURCE_PREFIX = "- "
# (label, attribute) in the order the format fixes.
FIELDS = (
    ("URI", "uri"),
    ("Version", "version"),
    ("Chain ID", "chain_id"),
    ("Nonce", "nonce"),
    ("Issued At", "issued_at"),
    ("Expiration Time", "expiration_time"),
    ("Not Before", "not_before"),
    ("Request ID", "request_id"),
)


@dataclass(frozen=True)
class SignInMessage:
    domain: str
    address: str
    statement: str | None = None
    uri: str | None = None
    version: str | None = None
    chain_id: str | None = None
    nonce: str | None = None
    issued_at: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] | None = None


def render(message: SignInMessage) -> str:
    """The text to sign; refuses values that would not parse back to the same message."""
    values = [message.domain, message.address, message.statement or ""]
    values += [getattr(message, attr) or "" for _, attr in FIELDS] + list(message.resources or ())
    if any("\n" in value for value in values):
        raise MalformedMessage("a value holds a line break")
    if message.statement is not None and _field_line(message.statement):
        raise MalformedMessage("the statement reads as a field line")
    text = f"{message.domain}{HEADER_SUFFIX}\n{message.address}"
    if message.statement:
        text += f"\n\n{message.statement}"
    lines = [f"{label}: {value}" for label, attr in FIELDS if (value := getattr(message, attr))]
    if message.resources is not None:
        lines += [RESOURCES] + [RESOURCE_PREFIX + resource for resource in message.resources]
    if lines:
        text += "\n\n" + "\n".join(lines)
    return text


def _field_line(line: str) -> bool:
    return line == RESOURCES or any(line.startswith(f"{label}: ") for label, _ in FIELDS)


def parse(text: str) -> SignInMessage:
    """The message `text` holds, exactly as `render` writes it (no trailing newline, fields in order)."""
    lines = text.split("\n")
    if len(lines) < 2 or not lines[0].endswith(HEADER_SUFFIX) or not lines[1]:
        raise MalformedMessage("no '<domain> wants you to sign in with your Solana account:' header and address")
    domain, address = lines[0][: -len(HEADER_SUFFIX)], lines[1]
    if not domain:
        raise MalformedMessage("empty domain")
    rest = lines[2:]
    statement = None
    if rest:
        if rest[0] != "" or len(rest) < 2:
            raise MalformedMessage("the address is not followed by a blank line")
        rest = rest[1:]
        if not _field_line(rest[0]):
            statement, rest = rest[0], rest[1:]
            if rest:
                if rest[0] != "" or len(rest) < 2:
                    raise MalformedMessage("the statement is not followed by a blank line")
                rest = rest[1:]
    values: dict[str, str] = {}
    position = 0  # fields may only move forward through FIELDS: order fixed, each once
    while rest and rest[0] != RESOURCES:
        line = rest.pop(0)
        for index, (label, attr) in enumerate(FIELDS[position:], start=position):
            if line.startswith(f"{label}: ") and len(line) > len(label) + 2:
                values[attr], position = line[len(label) + 2 :], index + 1
                break
        else:
            raise MalformedMessage(f"unexpected line {line!r}")
    resources = None
    if rest:
        items = rest[1:]
        if any(not item.startswith(RESOURCE_PREFIX) or item == RESOURCE_PREFIX for item in items):
            raise MalformedMessage("a Resources line is not '- <resource>'")
        resources = tuple(item[len(RESOURCE_PREFIX) :] for item in items)
    return SignInMessage(domain=domain, address=address, statement=statement, resources=resources, **values)


@dataclass(frozen=True)
class Policy:
    """What this server accepts."""

    domain: str
    uri: str
    chain_id: str
    statement: str = "Sign in to QuantDesk."
    max_age: timedelta = timedelta(minutes=10)
    # Clocks differ: Issued At and Not Before may lie this far in the server's future.
    skew: timedelta = timedelta(seconds=30)


def verify(text: str, signature: bytes, policy: Policy, nonces: NonceBook, now: datetime) -> SignInMessage:
    """The message, when `signature` is its address's over the exact UTF-8 bytes of `text` and the server
    accepts every field; the nonce is spent only when everything else holds."""
    message = parse(text)
    try:
        pubkey = Pubkey.from_string(message.address)
    except ValueError as exc:
        raise MalformedMessage(f"address {message.address!r} is not a Solana public key") from exc
    try:
        valid = Signature.from_bytes(signature).verify(pubkey, text.encode())
    except ValueError as exc:
        raise BadSignature("a signature is 64 bytes") from exc
    if not valid:
        raise BadSignature("not the address's signature over this message")
    if message.domain != policy.domain:
        raise WrongDomain(f"{message.domain!r}, expected {policy.domain!r}")
    if message.uri != policy.uri:
        raise WrongUri(f"{message.uri!r}, expected {policy.uri!r}")
    if message.version != "1":
        raise WrongVersion(f"{message.version!r}, expected '1'")
    if message.chain_id != policy.chain_id:
        raise WrongChain(f"{message.chain_id!r}, expected {policy.chain_id!r}")
    if message.issued_at is None:
        raise MalformedMessage("no Issued At")
    issued_at = _time(message.issued_at)
    if issued_at > now + policy.skew:
        raise IssuedInFuture(message.issued_at)
    if now - issued_at > policy.max_age:
        raise Stale(f"issued {message.issued_at}, more than {policy.max_age} ago")
    if message.expiration_time is not None and now >= _time(message.expiration_time):
        raise Expired(message.expiration_time)
    if message.not_before is not None and now + policy.skew < _time(message.not_before):
        raise NotYetValid(message.not_before)
    if message.nonce is None:
        raise MalformedMessage("no Nonce")
    nonces.spend(message.nonce)
    return message


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedMessage(f"{value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise MalformedMessage(f"{value!r} has no UTC offset")
    return parsed
