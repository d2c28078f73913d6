"""crates/qd-access as an order-executing program uses it (tests/programs/qd-test-gate, the way
qd-trading will): pause, freeze, owner / delegate / session authorization and the per-account
token bucket, against state written by the real qd-security and qd-core programs."""
from __future__ import annotations

import struct

import pytest
from quantdesk.clients import idl, security
from quantdesk.clients.security import ALL_SCOPES, SCOPE_CANCEL, Action, Actor, Operation, Role
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult
from quantdesk.world import Venue, failed, forge

GATE_ID = Pubkey.from_string("CcAgZmTEsBcZrwf54EYqns8QrTcd2qmWgLkD8dUh1f9T")
ORDER_ACTION = idl.discriminator("global", "order_action")
THROTTLE = idl.discriminator("account", "Throttle")
MILLI = 1_000
MARKET = 3
E = idl.error_codes(security.NAME)  # runtime and access codes are the same in every IDL


class Gate:
    """A venue (quantdesk.world) with the gate program deployed: a trader's margin account with a
    delegate, a session key, and the trader's Throttle account in the gate program."""

    def __init__(self) -> None:
        self.venue = Venue(quote_params=None, markets=())
        self.chain, self.admin = self.venue.chain, self.venue.admin
        self.chain.deploy("qd_test_gate", GATE_ID)
        self.owner, self.delegate = self.chain.keypair(), self.chain.keypair()
        self.margin = self.venue.margin_account(self.owner, 0, "gate", balances=False, delegate=self.delegate.pubkey())
        self.key, self.session = self.venue.session_for(self.owner, 5_000, 50_000, scopes=ALL_SCOPES, markets=1 << MARKET)
        self.throttle = self.throttle_for(self.margin)

    def throttle_for(self, margin: Pubkey) -> Pubkey:
        return forge(self.chain, THROTTLE + bytes(margin) + bytes(16), GATE_ID, 10**7)

    def bucket(self) -> tuple[int, int]:
        return struct.unpack_from("<QQ", self.venue.raw(self.throttle), 8 + 32)

    def act(self, signer: Keypair, action: Action, market: int = MARKET, notional: int = 0, *,
            session: Pubkey | None = None, config: Pubkey = security.CONFIG, throttle: Pubkey | None = None) -> TxResult:
        metas = [AccountMeta(signer.pubkey(), True, False), AccountMeta(config, False, False),
                 AccountMeta(self.margin, False, False), AccountMeta(throttle or self.throttle, False, True)]
        if session is not None:
            metas.append(AccountMeta(session, False, False))
        data = ORDER_ACTION + struct.pack("<BHQ", action, market, notional)
        return self.chain.send([Instruction(GATE_ID, data, metas)], [signer])

    def rate_limit(self, capacity: int, refill_milli: int) -> None:
        assert self.venue.enact(security.Change.set_rate_limit(capacity, refill_milli)).ok


def outcome(result: TxResult) -> tuple[Actor, int]:
    assert result.ok, result.logs
    return Actor(result.return_data[0]), int.from_bytes(result.return_data[1:9], "little")


@pytest.fixture
def gate() -> Gate:
    return Gate()


def test_owner_delegate_and_session_are_authorized_and_rate_limited_off_by_default(gate: Gate) -> None:
    assert outcome(gate.act(gate.owner, Action.PLACE_ORDER)) == (Actor.OWNER, 0)
    assert outcome(gate.act(gate.delegate, Action.CANCEL_ORDER)) == (Actor.DELEGATE, 0)
    assert outcome(gate.act(gate.key, Action.PLACE_ORDER, notional=5_000, session=gate.session)) == (Actor.SESSION, 0)
    assert gate.bucket() == (0, 0), "rate limit off: the bucket is never touched"


def test_bucket_allows_a_burst_then_refills_per_slot(gate: Gate) -> None:
    gate.rate_limit(capacity=3, refill_milli=500)
    for left in (2, 1, 0):
        assert outcome(gate.act(gate.owner, Action.PLACE_ORDER)) == (Actor.OWNER, left * MILLI)
    before = gate.bucket()
    failed(gate.act(gate.owner, Action.CANCEL_ORDER), E["RateLimited"])
    assert gate.bucket() == before, "a refused action takes no token"
    gate.chain.advance(slots=1)
    failed(gate.act(gate.owner, Action.PLACE_ORDER), E["RateLimited"])  # half a token
    gate.chain.advance(slots=1)
    assert outcome(gate.act(gate.key, Action.PLACE_ORDER, session=gate.session)) == (Actor.SESSION, 0)
    # Non-order actions never take tokens.
    assert outcome(gate.act(gate.owner, Action.DEPOSIT, market=0xFFFF))[0] == Actor.OWNER
    gate.chain.advance(slots=1_000)
    assert outcome(gate.act(gate.owner, Action.PLACE_ORDER)) == (Actor.OWNER, 2 * MILLI), "idle: refilled to capacity, no more"


def test_the_bucket_is_per_margin_account_state(gate: Gate) -> None:
    gate.rate_limit(capacity=1, refill_milli=1)
    assert gate.act(gate.owner, Action.PLACE_ORDER).ok
    failed(gate.act(gate.owner, Action.PLACE_ORDER), E["RateLimited"])
    # A throttle bound to another margin account cannot stand in for this one's.
    other = gate.throttle_for(Keypair().pubkey())
    failed(gate.act(gate.owner, Action.PLACE_ORDER, throttle=other), E["WrongAddress"])


def test_session_scope_market_and_notional(gate: Gate) -> None:
    failed(gate.act(gate.key, Action.WITHDRAW, market=0xFFFF, session=gate.session), E["SessionScope"])
    failed(gate.act(gate.key, Action.PLACE_ORDER, market=MARKET + 1, session=gate.session), E["SessionMarket"])
    failed(gate.act(gate.key, Action.PLACE_ORDER, notional=5_001, session=gate.session), E["SessionNotional"])
    failed(gate.act(gate.key, Action.PLACE_ORDER), E["NotAuthorized"])  # no session passed
    gate.chain.advance(seconds=3_600)
    failed(gate.act(gate.key, Action.PLACE_ORDER, session=gate.session), E["SessionExpired"])


def test_revoked_session_and_cancel_only_session(gate: Gate) -> None:
    assert gate.venue.send([gate.venue.security.revoke_session(gate.key.pubkey(), gate.session)], gate.key).ok
    failed(gate.act(gate.key, Action.CANCEL_ORDER, session=gate.session), E["SessionRevoked"])
    key = gate.chain.keypair()
    expires = gate.chain.clock.unix_timestamp + 60
    assert gate.venue.send([gate.venue.security.create_session(gate.owner.pubkey(), key.pubkey(), SCOPE_CANCEL, 1 << MARKET, 1, expires, 1)], gate.owner).ok
    session = security.session_address(gate.owner.pubkey(), key.pubkey())
    assert outcome(gate.act(key, Action.CANCEL_ORDER, session=session))[0] == Actor.SESSION
    failed(gate.act(key, Action.PLACE_ORDER, notional=1, session=session), E["SessionScope"])


def test_pause_and_freeze_from_the_real_programs(gate: Gate) -> None:
    assert gate.venue.send([gate.venue.security.set_pause(gate.admin.pubkey(), Operation.PLACE_ORDER.bit, True, MARKET)]).ok
    failed(gate.act(gate.owner, Action.PLACE_ORDER), E["Paused"])
    assert gate.act(gate.owner, Action.PLACE_ORDER, market=MARKET + 1).ok
    assert gate.act(gate.owner, Action.CANCEL_ORDER).ok, "cancels are never paused"
    assert security.enact(gate.chain, gate.admin, security.Change.unpause(Operation.PLACE_ORDER.bit, MARKET)).ok
    compliance = gate.chain.keypair()
    assert security.enact(gate.chain, gate.admin, security.Change.grant_role(Role.COMPLIANCE, compliance.pubkey())).ok
    assert gate.venue.freeze(gate.margin, compliance, 9).ok
    for action in (Action.PLACE_ORDER, Action.FILL, Action.WITHDRAW, Action.TRANSFER):
        failed(gate.act(gate.owner, action, market=MARKET if action in (Action.PLACE_ORDER, Action.FILL) else 0xFFFF), E["AccountFrozen"])
    assert gate.act(gate.owner, Action.DEPOSIT, market=0xFFFF).ok
    assert gate.act(gate.delegate, Action.CANCEL_ORDER).ok


def test_delegate_is_trade_only_and_strangers_are_refused(gate: Gate) -> None:
    failed(gate.act(gate.delegate, Action.WITHDRAW, market=0xFFFF), E["DelegateNotPermitted"])
    failed(gate.act(gate.chain.keypair(), Action.PLACE_ORDER), E["NotAuthorized"])
    # A session of another wallet for the same key does not authorize it for this account.
    stranger = gate.chain.keypair()
    expires = gate.chain.clock.unix_timestamp + 60
    assert gate.venue.send([gate.venue.security.create_session(stranger.pubkey(), gate.key.pubkey(), ALL_SCOPES, 1 << MARKET, 5_000, expires, 50_000)], stranger).ok
    failed(gate.act(gate.key, Action.PLACE_ORDER, session=security.session_address(stranger.pubkey(), gate.key.pubkey())), E["SessionMismatch"])


def test_fake_config_and_session_accounts_are_refused(gate: Gate) -> None:
    config = gate.chain.account(security.CONFIG)
    assert config is not None
    fake = Keypair().pubkey()
    gate.chain.set_account(fake, Account(config.lamports, bytes(config.data), security.PROGRAM_ID))
    failed(gate.act(gate.owner, Action.PLACE_ORDER, config=fake), E["WrongAddress"])
    session = gate.chain.account(gate.session)
    assert session is not None
    forged = Keypair().pubkey()
    gate.chain.set_account(forged, Account(session.lamports, bytes(session.data), Pubkey.default()))
    failed(gate.act(gate.key, Action.PLACE_ORDER, session=forged), E["WrongOwner"])
    # The margin account passed as the session: right owner program, wrong type.
    failed(gate.act(gate.key, Action.PLACE_ORDER, session=gate.margin), E["WrongOwner"])


def test_gate_cost_with_a_session_signer_and_the_bucket(gate: Gate) -> None:
    gate.rate_limit(capacity=10, refill_milli=1_000)
    result = gate.act(gate.key, Action.PLACE_ORDER, notional=5_000, session=gate.session)
    assert outcome(result)[0] == Actor.SESSION
    assert result.cu <= 1_500, result.cu
