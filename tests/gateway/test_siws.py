"""The SIWS message: every field renders and parses back; each refusal is named."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from solders.keypair import Keypair

from quantdesk.gateway import errors, siws
from quantdesk.gateway.nonces import NonceBook
from quantdesk.gateway.store import MemoryStore

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
POLICY = siws.Policy(domain="desk.example", uri="https://desk.example/login", chain_id="localnet")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


FULL = siws.SignInMessage(
    domain="desk.example",
    address="9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
    statement="Sign in to QuantDesk.",
    uri="https://desk.example/login",
    version="1",
    chain_id="localnet",
    nonce="a1B2c3D4e5F6g7H8",
    issued_at="2026-12-02T08:00:00.000Z",
    expiration_time="2026-12-02T08:05:00.000Z",
    not_before="2026-12-02T07:59:00.000Z",
    request_id="req-7",
    resources=("https://desk.example/terms", "ipfs://bafybeigdyrzt"),
)
FULL_TEXT = (
    "desk.example wants you to sign in with your Solana account:\n"
    "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin\n"
    "\n"
    "Sign in to QuantDesk.\n"
    "\n"
    "URI: https://desk.example/login\n"
    "Version: 1\n"
    "Chain ID: localnet\n"
    "Nonce: a1B2c3D4e5F6g7H8\n"
    "Issued At: 2026-12-02T08:00:00.000Z\n"
    "Expiration Time: 2026-12-02T08:05:00.000Z\n"
    "Not Before: 2026-12-02T07:59:00.000Z\n"
    "Request ID: req-7\n"
    "Resources:\n"
    "- https://desk.example/terms\n"
    "- ipfs://bafybeigdyrzt"
)


def test_every_field_renders_in_order_and_parses_back() -> None:
    assert siws.render(FULL) == FULL_TEXT
    assert siws.parse(FULL_TEXT) == FULL


@pytest.mark.parametrize(
    "message",
    [
        siws.SignInMessage(domain="d", address="a"),
        siws.SignInMessage(domain="d", address="a", statement="only a statement"),
        siws.SignInMessage(domain="d", address="a", nonce="abcdefgh"),
        siws.SignInMessage(domain="d", address="a", statement="s", resources=()),
        siws.SignInMessage(domain="d", address="a", chain_id="mainnet", request_id="r", resources=("x",)),
    ],
)
def test_optional_fields_round_trip(message: siws.SignInMessage) -> None:
    assert siws.parse(siws.render(message)) == message


def test_optional_parts_leave_no_blank_lines() -> None:
    assert siws.render(siws.SignInMessage(domain="d", address="a")) == "d wants you to sign in with your Solana account:\na"
    assert siws.render(siws.SignInMessage(domain="d", address="a", version="1")) == (
        "d wants you to sign in with your Solana account:\na\n\nVersion: 1"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "desk.example wants you to sign in with your Ethereum account:\naddr",
        " wants you to sign in with your Solana account:\naddr",
        "d wants you to sign in with your Solana account:\na\nURI: u",  # no blank line
        "d wants you to sign in with your Solana account:\na\n\nVersion: 1\nURI: u",  # out of order
        "d wants you to sign in with your Solana account:\na\n\nURI: u\nURI: v",  # twice
        "d wants you to sign in with your Solana account:\na\n\nURI: u\nColour: blue",
        "d wants you to sign in with your Solana account:\na\n\nstatement\nURI: u",
        "d wants you to sign in with your Solana account:\na\n\nResources:\nnot a resource",
        "d wants you to sign in with your Solana account:\na\n\nURI: u\n",  # trailing newline: not what was rendered
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(errors.MalformedMessage):
        siws.parse(text)


@pytest.mark.parametrize(
    "message",
    [
        siws.SignInMessage(domain="d", address="a", statement="two\nlines"),
        siws.SignInMessage(domain="d", address="a", statement="URI: looks like a field"),
        siws.SignInMessage(domain="d", address="a", resources=("a\nb",)),
    ],
)
def test_render_refuses_what_would_not_parse_back(message: siws.SignInMessage) -> None:
    with pytest.raises(errors.MalformedMessage):
        siws.render(message)


class Wallet:
    """A server that issued one nonce, and a wallet that signs messages for it."""

    def __init__(self) -> None:
        self.keypair = Keypair()
        self.nonces = NonceBook(MemoryStore(lambda: NOW.timestamp()), ttl_secs=300)
        self.nonce = self.nonces.issue()

    def message(self, **changes: object) -> siws.SignInMessage:
        fields: dict[str, object] = {
            "domain": POLICY.domain,
            "address": str(self.keypair.pubkey()),
            "statement": POLICY.statement,
            "uri": POLICY.uri,
            "version": "1",
            "chain_id": POLICY.chain_id,
            "nonce": self.nonce,
            "issued_at": _iso(NOW - timedelta(seconds=5)),
            "expiration_time": _iso(NOW + timedelta(minutes=5)),
        }
        fields.update(changes)
        return siws.SignInMessage(**fields)  # type: ignore[arg-type]

    def signed(self, **changes: object) -> tuple[str, bytes]:
        text = siws.render(self.message(**changes))
        return text, bytes(self.keypair.sign_message(text.encode()))

    def verify(self, text: str, signature: bytes, now: datetime = NOW) -> siws.SignInMessage:
        return siws.verify(text, signature, POLICY, self.nonces, now)


def test_a_real_signature_signs_in() -> None:
    wallet = Wallet()
    text, signature = wallet.signed()
    assert wallet.verify(text, signature).address == str(wallet.keypair.pubkey())


def test_a_replayed_nonce_is_refused() -> None:
    wallet = Wallet()
    text, signature = wallet.signed()
    wallet.verify(text, signature)
    with pytest.raises(errors.NonceReused):
        wallet.verify(text, signature)


def test_a_nonce_the_server_never_issued_is_refused() -> None:
    wallet = Wallet()
    with pytest.raises(errors.NonceUnknown):
        wallet.verify(*wallet.signed(nonce="ZZZZZZZZZZZZZZZZ"))
    with pytest.raises(errors.NonceUnknown):  # too short to be ours
        wallet.verify(*wallet.signed(nonce="abc"))


def test_a_nonce_past_its_ttl_is_unknown() -> None:
    clock = [NOW.timestamp()]
    wallet = Wallet()
    wallet.nonces = NonceBook(MemoryStore(lambda: clock[0]), ttl_secs=300)
    wallet.nonce = wallet.nonces.issue()
    clock[0] += 301
    with pytest.raises(errors.NonceUnknown):
        wallet.verify(*wallet.signed())


def test_a_refused_sign_in_does_not_spend_the_nonce() -> None:
    wallet = Wallet()
    with pytest.raises(errors.WrongDomain):
        wallet.verify(*wallet.signed(domain="evil.example"))
    wallet.verify(*wallet.signed())


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"domain": "evil.example"}, errors.WrongDomain),
        ({"uri": "https://evil.example/login"}, errors.WrongUri),
        ({"uri": None}, errors.WrongUri),
        ({"version": "2"}, errors.WrongVersion),
        ({"chain_id": "mainnet"}, errors.WrongChain),
        ({"expiration_time": _iso(NOW - timedelta(seconds=1))}, errors.Expired),
        ({"expiration_time": _iso(NOW)}, errors.Expired),
        ({"not_before": _iso(NOW + timedelta(minutes=1))}, errors.NotYetValid),
        ({"issued_at": _iso(NOW + timedelta(minutes=1))}, errors.IssuedInFuture),
        ({"issued_at": _iso(NOW - timedelta(minutes=11))}, errors.Stale),
        ({"issued_at": None}, errors.MalformedMessage),
        ({"issued_at": "yesterday"}, errors.MalformedMessage),
        ({"issued_at": "2026-12-02T08:00:00"}, errors.MalformedMessage),  # no offset
        ({"nonce": None}, errors.MalformedMessage),
        ({"address": "not-a-key"}, errors.MalformedMessage),
    ],
)
def test_each_refusal_is_named(changes: dict[str, object], error: type[errors.SignInError]) -> None:
    wallet = Wallet()
    with pytest.raises(error):
        wallet.verify(*wallet.signed(**changes))


def test_within_the_skew_is_accepted() -> None:
    wallet = Wallet()
    wallet.verify(*wallet.signed(issued_at=_iso(NOW + timedelta(seconds=20)), not_before=_iso(NOW + timedelta(seconds=20))))


def test_another_keys_signature_is_refused() -> None:
    wallet = Wallet()
    text = siws.render(wallet.message())
    with pytest.raises(errors.BadSignature):
        wallet.verify(text, bytes(Keypair().sign_message(text.encode())))


def test_a_signature_for_another_address_is_refused() -> None:
    wallet, other = Wallet(), Keypair()
    text = siws.render(wallet.message(address=str(other.pubkey())))
    with pytest.raises(errors.BadSignature):
        wallet.verify(text, bytes(wallet.keypair.sign_message(text.encode())))


def test_a_tampered_message_is_refused() -> None:
    wallet = Wallet()
    text, signature = wallet.signed()
    with pytest.raises(errors.BadSignature):
        wallet.verify(text.replace("Sign in to QuantDesk.", "Sign in to QuantDesk!"), signature)
    with pytest.raises(errors.BadSignature):
        wallet.verify(text, signature[:63])
