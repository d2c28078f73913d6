"""crates/qd-access as an order-executing program uses it (tests/programs/qd-test-gate, the way
qd-trading will): pause, freeze, owner / delegate / session authorization and the per-account
token bucket, against state written by the real qd-security and qd-core programs."""
from __future__ import annotations

import struct

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import Chain, TxResult
from quantdesk.clients import core, idl, security
from quantdesk.clients.security import ALL_SCOPES, SCOPE_CANCEL, Action, Actor, Operation, Role

from quantdesk.world import failed

GATE_ID = Pubkey.from_string("CcAgZmTEsBcZrwf54EYqns8QrTcd2qmWgLkD8dUh1f9T")
ORDER_ACTION = idl.discriminator("global", "order_action")
THROTTLE = idl.discriminator("account", "Throttle")
MILLI = 1_000
MARKET = 3
E = idl.error_codes(security.NAME)  # runtime and access codes are the same in every IDL


class Venue:
    """qd-security and qd-core initialized, a trader's margin account with a delegate, a session
    key, and the trader's Throttle account in the gate program."""

    def __init__(self) -> None:
        self.chain = Chain()
        self.chain.deploy("qd_test_gate", GATE_ID)
        self.sec = security.SecurityInstructions()
        self.core = core.CoreInstructions()
        admin = self.admin = self.chain.payer
        assert self.chain.send([self.sec.initialize(admin.pubkey(), timelock_delay=security.LOCAL_TIMELOCK_DELAY),
                                self.core.initialize(admin.pubkey(), self.chain.create_mint(6))]).ok
        self.owner, self.delegate, self.key = self.chain.keypair(), self.chain.keypair(), self.chain.keypair()
        self.margin = core.margin_account_address(self.owner.pubkey(), 0)
        assert self.chain.send([self.core.create_margin_account(self.owner.pubkey(), 0, "gate"),
                                self.core.set_delegate(self.owner.pubkey(), self.margin, self.delegate.pubkey())], [self.owner]).ok
        expires = self.chain.clock.unix_timestamp + 3_600
        assert self.admin_send(self.sec.create_session(self.owner.pubkey(), self.key.pubkey(), ALL_SCOPES, 1 << MARKET, 5_000, expires, 50_000), self.owner).ok
        self.session = security.session_address(self.owner.pubkey(), self.key.pubkey())
        self.throttle = self.throttle_for(self.margin)

    def admin_send(self, ix: Instruction, *signers: Keypair) -> TxResult:
        return self.chain.send([ix], signers)

    def throttle_for(self, margin: Pubkey) -> Pubkey:
        address = Keypair().pubkey()
        self.chain.set_account(address, Account(10**7, THROTTLE + bytes(margin) + bytes(16), GATE_ID))
        return address

    def bucket(self) -> tuple[int, int]:
        account = self.chain.account(self.throttle)
        assert account is not None
        return struct.unpack_from("<QQ", bytes(account.data), 8 + 32)

    def act(self, signer: Keypair, action: Action, market: int = MARKET, notional: int = 0, *,
            session: Pubkey | None = None, config: Pubkey = security.CONFIG, throttle: Pubkey | None = None) -> TxResult:
        metas = [AccountMeta(signer.pubkey(), True, False), AccountMeta(config, False, False),
                 AccountMeta(self.margin, False, False), AccountMeta(throttle or self.throttle, False, True)]
        if session is not None:
            metas.append(AccountMeta(session, False, False))
        data = ORDER_ACTION + struct.pack("<BHQ", action, market, notional)
        return self.chain.send([Instruction(GATE_ID, data, metas)], [signer])

    def rate_limit(self, capacity: int, refill_milli: int) -> None:
        assert security.enact(self.chain, self.admin, security.Change.set_rate_limit(capacity, refill_milli)).ok


def outcome(result: TxResult) -> tuple[Actor, int]:
    assert result.ok, result.logs
    return Actor(result.return_data[0]), int.from_bytes(result.return_data[1:9], "little")


@pytest.fixture
def v() -> Venue:
    return Venue()


def test_owner_delegate_and_session_are_authorized_and_rate_limited_off_by_default(v: Venue) -> None:
    assert outcome(v.act(v.owner, Action.PLACE_ORDER)) == (Actor.OWNER, 0)
    assert outcome(v.act(v.delegate, Action.CANCEL_ORDER)) == (Actor.DELEGATE, 0)
    assert outcome(v.act(v.key, Action.PLACE_ORDER, notional=5_000, session=v.session)) == (Actor.SESSION, 0)
    assert v.bucket() == (0, 0), "rate limit off: the bucket is never touched"


def test_bucket_allows_a_burst_then_refills_per_slot(v: Venue) -> None:
    v.rate_limit(capacity=3, refill_milli=500)
    for left in (2, 1, 0):
        assert outcome(v.act(v.owner, Action.PLACE_ORDER)) == (Actor.OWNER, left * MILLI)
    before = v.bucket()
    failed(v.act(v.owner, Action.CANCEL_ORDER), E["RateLimited"])
    assert v.bucket() == before, "a refused action takes no token"
    v.chain.advance(slots=1)
    failed(v.act(v.owner, Action.PLACE_ORDER), E["RateLimited"])  # half a token
    v.chain.advance(slots=1)
    assert outcome(v.act(v.key, Action.PLACE_ORDER, session=v.session)) == (Actor.SESSION, 0)
    # Non-order actions never take tokens.
    assert outcome(v.act(v.owner, Action.DEPOSIT, market=0xFFFF))[0] == Actor.OWNER
    v.chain.advance(slots=1_000)
    assert outcome(v.act(v.owner, Action.PLACE_ORDER)) == (Actor.OWNER, 2 * MILLI), "idle: refilled to capacity, no more"


def test_the_bucket_is_per_margin_account_state(v: Venue) -> None:
    v.rate_limit(capacity=1, refill_milli=1)
    assert v.act(v.owner, Action.PLACE_ORDER).ok
    failed(v.act(v.owner, Action.PLACE_ORDER), E["RateLimited"])
    # A throttle bound to another margin account cannot stand in for this one's.
    other = v.throttle_for(Keypair().pubkey())
    failed(v.act(v.owner, Action.PLACE_ORDER, throttle=other), E["WrongAddress"])


def test_session_scope_market_and_notional(v: Venue) -> None:
    failed(v.act(v.key, Action.WITHDRAW, market=0xFFFF, session=v.session), E["SessionScope"])
    failed(v.act(v.key, Action.PLACE_ORDER, market=MARKET + 1, session=v.session), E["SessionMarket"])
    failed(v.act(v.key, Action.PLACE_ORDER, notional=5_001, session=v.session), E["SessionNotional"])
    failed(v.act(v.key, Action.PLACE_ORDER), E["NotAuthorized"])  # no session passed
    v.chain.advance(seconds=3_600)
    failed(v.act(v.key, Action.PLACE_ORDER, session=v.session), E["SessionExpired"])


def test_revoked_session_and_cancel_only_session(v: Venue) -> None:
    assert v.admin_send(v.sec.revoke_session(v.key.pubkey(), v.session), v.key).ok
    failed(v.act(v.key, Action.CANCEL_ORDER, session=v.session), E["SessionRevoked"])
    key = v.chain.keypair()
    expires = v.chain.clock.unix_timestamp + 60
    assert v.admin_send(v.sec.create_session(v.owner.pubkey(), key.pubkey(), SCOPE_CANCEL, 1 << MARKET, 1, expires, 1), v.owner).ok
    session = security.session_address(v.owner.pubkey(), key.pubkey())
    assert outcome(v.act(key, Action.CANCEL_ORDER, session=session))[0] == Actor.SESSION
    failed(v.act(key, Action.PLACE_ORDER, notional=1, session=session), E["SessionScope"])


def test_pause_and_freeze_from_the_real_programs(v: Venue) -> None:
    assert v.admin_send(v.sec.set_pause(v.admin.pubkey(), Operation.PLACE_ORDER.bit, True, MARKET)).ok
    failed(v.act(v.owner, Action.PLACE_ORDER), E["Paused"])
    assert v.act(v.owner, Action.PLACE_ORDER, market=MARKET + 1).ok
    assert v.act(v.owner, Action.CANCEL_ORDER).ok, "cancels are never paused"
    assert security.enact(v.chain, v.admin, security.Change.unpause(Operation.PLACE_ORDER.bit, MARKET)).ok
    compliance = v.chain.keypair()
    assert security.enact(v.chain, v.admin, security.Change.grant_role(Role.COMPLIANCE, compliance.pubkey())).ok
    assert v.admin_send(v.sec.freeze_account(compliance.pubkey(), v.margin, 9), compliance).ok
    for action in (Action.PLACE_ORDER, Action.FILL, Action.WITHDRAW, Action.TRANSFER):
        failed(v.act(v.owner, action, market=MARKET if action in (Action.PLACE_ORDER, Action.FILL) else 0xFFFF), E["AccountFrozen"])
    assert v.act(v.owner, Action.DEPOSIT, market=0xFFFF).ok
    assert v.act(v.delegate, Action.CANCEL_ORDER).ok


def test_delegate_is_trade_only_and_strangers_are_refused(v: Venue) -> None:
    failed(v.act(v.delegate, Action.WITHDRAW, market=0xFFFF), E["DelegateNotPermitted"])
    failed(v.act(v.chain.keypair(), Action.PLACE_ORDER), E["NotAuthorized"])
    # A session of another wallet for the same key does not authorize it for this account.
    stranger = v.chain.keypair()
    expires = v.chain.clock.unix_timestamp + 60
    assert v.admin_send(v.sec.create_session(stranger.pubkey(), v.key.pubkey(), ALL_SCOPES, 1 << MARKET, 5_000, expires, 50_000), stranger).ok
    failed(v.act(v.key, Action.PLACE_ORDER, session=security.session_address(stranger.pubkey(), v.key.pubkey())), E["SessionMismatch"])


def test_fake_config_and_session_accounts_are_refused(v: Venue) -> None:
    config = v.chain.account(security.CONFIG)
    assert config is not None
    fake = Keypair().pubkey()
    v.chain.set_account(fake, Account(config.lamports, bytes(config.data), security.PROGRAM_ID))
    failed(v.act(v.owner, Action.PLACE_ORDER, config=fake), E["WrongAddress"])
    session = v.chain.account(v.session)
    assert session is not None
    forged = Keypair().pubkey()
    v.chain.set_account(forged, Account(session.lamports, bytes(session.data), Pubkey.default()))
    failed(v.act(v.key, Action.PLACE_ORDER, session=forged), E["WrongOwner"])
    # The margin account passed as the session: right owner program, wrong type.
    failed(v.act(v.key, Action.PLACE_ORDER, session=v.margin), E["WrongOwner"])


def test_gate_cost_with_a_session_signer_and_the_bucket(v: Venue) -> None:
    v.rate_limit(capacity=10, refill_milli=1_000)
    result = v.act(v.key, Action.PLACE_ORDER, notional=5_000, session=v.session)
    assert outcome(result)[0] == Actor.SESSION
    assert result.cu <= 1_500, result.cu
