"""qd-security in the real runtime (LiteSVM), with qd-core deployed for margin accounts and the
freeze CPI: every instruction's success path and error paths, and the attack classes (missing or
wrong signer, wrong owner, type cosplay, re-initialization, wrong PDA, duplicate accounts,
arbitrary CPI target, fake signer PDA, wrong config account), each leaving state unchanged. Role,
unpause, rate-limit and super-admin changes go through the timelock (`security.enact`); its own
attacks (early, repeated or cancelled execution, outsiders, short approvals, durable nonces) are
in the timelock section."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from anchorpy import Context, Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import Chain, TxResult
from quantdesk.localnet import run_in_background
from quantdesk.clients import core, idl, oracle, security, token
from quantdesk.clients.rpc import SimulationError
from quantdesk.clients.security import (
    ALL_SCOPES, AUTHORITY, CONFIG, LOCAL_TIMELOCK_DELAY, NO_MARKET, SCOPE_CANCEL, SCOPE_PLACE, Action, Actor, AuditAction, Change, Operation,
    ProposalAction, ProposalState, Role,
)

from quantdesk.world import Nonce, account_meta, failed, with_meta

T0 = 1_700_000_000
DAY = 86_400
E = idl.error_codes(security.NAME)
CORE_E = idl.error_codes(core.NAME)
SYSTEM_PROGRAM = Pubkey.default()


class Desk:
    """A chain with qd-security (not yet initialized) and an initialized qd-core."""

    def __init__(self) -> None:
        self.chain = Chain(unix_timestamp=T0)
        self.ix = security.SecurityInstructions()
        self.core = core.CoreInstructions()
        self.admin = self.chain.payer  # the deployer: super-admin after initialize
        assert self.chain.send([self.core.initialize(self.admin.pubkey(), self.chain.create_mint(6))]).ok

    def send(self, ixs: list[Instruction], *signers: Keypair, payer: Keypair | None = None) -> TxResult:
        return self.chain.send(ixs, signers, payer=payer)

    def init(self, delay: int = LOCAL_TIMELOCK_DELAY) -> TxResult:
        return self.send([self.ix.initialize(self.admin.pubkey(), timelock_delay=delay)])

    def config(self) -> security.SecurityConfig:
        account = self.chain.account(CONFIG)
        assert account is not None
        return security.decode_config(bytes(account.data))

    def raw(self, address: Pubkey) -> bytes:
        account = self.chain.account(address)
        return bytes(account.data) if account else b""

    def enact(self, change: bytes, by: Keypair | None = None) -> TxResult:
        """Through the timelock: proposed by `by` (the super-admin by default), executed after the delay."""
        return security.enact(self.chain, by or self.admin, change)

    def grant(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        return self.enact(Change.grant_role(role, holder), by)

    def revoke(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        return self.enact(Change.revoke_role(role, holder), by)

    def pause(self, by: Keypair, operations: int, paused: bool = True, market: int = NO_MARKET) -> TxResult:
        """Pausing is immediate; unpausing is a proposal."""
        if not paused:
            return self.enact(Change.unpause(operations, market), by)
        return self.send([self.ix.set_pause(by.pubkey(), operations, True, market)], by)

    def propose(self, change: bytes, by: Keypair | None = None, approval_set: Pubkey | None = None) -> tuple[TxResult, Pubkey]:
        """Only the proposal (no wait, no execution): its result and address."""
        by = by or self.admin
        count = self.config().proposal_count
        return self.send([self.ix.propose(by.pubkey(), count, change, approval_set)], by), security.proposal_address(count)

    def proposal(self, address: Pubkey) -> security.Proposal:
        return security.decode_proposal(address, self.raw(address))

    def execute(self, proposal: Pubkey) -> TxResult:
        return self.send([self.ix.execute_proposal(proposal)])

    def holder(self, role: Role) -> Keypair:
        kp = self.chain.keypair()
        assert self.grant(role, kp.pubkey()).ok
        return kp

    def margin_account(self, owner: Keypair, sub_id: int = 0) -> Pubkey:
        assert self.send([self.core.create_margin_account(owner.pubkey(), sub_id, "main")], owner).ok
        return core.margin_account_address(owner.pubkey(), sub_id)

    def margin(self, address: Pubkey) -> core.MarginAccount:
        return core.decode_margin_account(address, self.raw(address))

    def session(self, owner: Keypair, key: Pubkey, scopes: int = ALL_SCOPES, markets: int = 1 << 3,
                max_notional: int = 1_000_000, expires_at: int | None = None) -> TxResult:
        expires = T0 + DAY if expires_at is None else expires_at
        return self.send([self.ix.create_session(owner.pubkey(), key, scopes, markets, max_notional, expires, 10 * max_notional)], owner)

    def check(self, signer: Keypair, margin: Pubkey, action: Action, market: int = NO_MARKET, notional: int = 0,
              session: Pubkey | None = None) -> TxResult:
        return self.send([self.ix.check_action(signer.pubkey(), margin, action, market, notional, session)], signer)


def audit(result: TxResult) -> list[object]:
    return [e.data for e in security.parse_events(result.logs) if e.name == "AuditEvent"]


@pytest.fixture
def d() -> Desk:
    return Desk()


@pytest.fixture
def live(d: Desk) -> Desk:
    assert d.init().ok
    return d


class Trader:
    """The `live` desk plus a trader's margin account and a compliance officer."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.owner = desk.chain.keypair()
        self.margin = desk.margin_account(self.owner)
        self.compliance = desk.holder(Role.COMPLIANCE)

    def freeze(self, reason: int = 7, by: Keypair | None = None) -> TxResult:
        by = by or self.compliance
        return self.desk.send([self.desk.ix.freeze_account(by.pubkey(), self.margin, reason)], by)

    def unfreeze(self, reason: int = 8, by: Keypair | None = None) -> TxResult:
        by = by or self.compliance
        return self.desk.send([self.desk.ix.unfreeze_account(by.pubkey(), self.margin, reason)], by)


@pytest.fixture
def t(live: Desk) -> Trader:
    return Trader(live)


# ---- initialize ------------------------------------------------------------------------------

def test_initialize_creates_the_config_with_the_signer_as_super_admin(d: Desk) -> None:
    r = d.init()
    assert r.ok, r.logs
    account = d.chain.account(CONFIG)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 736
    c = d.config()
    assert (c.super_admin, c.pending_super_admin, c.version, c.audit_seq) == (d.admin.pubkey(), None, 2, 1)
    # LiteSVM loads programs with the immutable loader: the short delay is allowed, minimum 0.
    assert (c.timelock_delay, c.min_timelock_delay, c.proposal_count) == (LOCAL_TIMELOCK_DELAY, 0, 0)
    assert all(holders == [] for holders in c.roles.values())
    assert (c.global_pause, set(c.market_pause), c.rate_limit) == (0, {0}, security.RateLimit(0, 0))
    [event] = audit(r)
    assert (event.action, event.actor, event.target, event.seq, event.slot, event.value) == (
        AuditAction.INITIALIZE, d.admin.pubkey(), CONFIG, 1, d.chain.clock.slot, LOCAL_TIMELOCK_DELAY)
    with pytest.raises(ValueError):
        security.decode_session(CONFIG, bytes(account.data))  # the decoders check the account type


def test_initialize_twice_is_refused(live: Desk) -> None:
    before = live.raw(CONFIG)
    failed(live.init(), E["AlreadyInitialized"])
    stranger = live.chain.keypair()
    failed(live.send([live.ix.initialize(stranger.pubkey())], stranger), E["AlreadyInitialized"])
    assert live.raw(CONFIG) == before


def test_initialize_succeeds_on_a_prefunded_config_address(d: Desk) -> None:
    # Someone sends lamports to the config address to block its creation: it is topped up instead.
    d.chain.svm.airdrop(CONFIG, 1_000)
    assert d.init().ok
    assert d.config().super_admin == d.admin.pubkey()


def test_initialize_account_checks(d: Desk) -> None:
    other = d.chain.keypair()
    failed(d.send([with_meta(d.ix.initialize(other.pubkey()), "super_admin", signer=False)]), E["MissingSigner"])
    base = d.ix.initialize(d.admin.pubkey())
    failed(d.send([with_meta(base, "config", key=Pubkey.find_program_address([b"other"], security.PROGRAM_ID)[0])]), E["WrongAddress"])
    failed(d.send([with_meta(base, "config", writable=False)]), E["NotWritable"])
    failed(d.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    # The program account must be qd-security's own (the upgrade-authority check reads it).
    failed(d.send([with_meta(base, "program", key=oracle.PROGRAM_ID)]), E["WrongAddress"])
    assert d.chain.account(CONFIG) is None


def test_a_copy_of_the_program_at_another_address_refuses_to_run(d: Desk) -> None:
    impostor = d.chain.deploy("qd_security", Keypair().pubkey())
    ix = d.ix.initialize(d.admin.pubkey())
    failed(d.send([Instruction(impostor, ix.data, ix.accounts)]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(live: Desk) -> None:
    ix = live.ix.propose(live.admin.pubkey(), 0, Change.grant_role(Role.ADMIN, Keypair().pubkey()))
    data = bytes(ix.data)
    failed(live.send([Instruction(ix.program_id, data[:-1], ix.accounts)]), E["InvalidInstructionData"])
    failed(live.send([Instruction(ix.program_id, data + b"\0", ix.accounts)]), E["InvalidInstructionData"])
    failed(live.send([Instruction(ix.program_id, b"\x07" * 8, ix.accounts)]), E["InvalidInstruction"])
    failed(live.send([Instruction(ix.program_id, data, ix.accounts[:1])]), E["NotEnoughAccounts"])


# ---- super-admin hand-over -----------------------------------------------------------------------

def test_super_admin_hands_over_in_two_steps(live: Desk) -> None:
    new = live.chain.keypair()
    r = live.enact(Change.propose_super_admin(new.pubkey()))
    assert r.ok, r.logs
    assert live.config().pending_super_admin == new.pubkey()
    [event] = audit(r)
    assert (event.action, event.actor, event.subject, event.seq) == (AuditAction.PROPOSE_SUPER_ADMIN, live.admin.pubkey(), new.pubkey(), 2)
    # Until the successor accepts, the old super-admin keeps every power.
    assert live.grant(Role.ADMIN, Keypair().pubkey()).ok
    # Nobody else can accept.
    impostor = live.chain.keypair()
    before = live.raw(CONFIG)
    failed(live.send([live.ix.accept_super_admin(impostor.pubkey())], impostor), E["NotPendingSuperAdmin"])
    failed(live.send([with_meta(live.ix.accept_super_admin(new.pubkey()), "new_super_admin", signer=False)]), E["MissingSigner"])
    assert live.raw(CONFIG) == before
    r = live.send([live.ix.accept_super_admin(new.pubkey())], new)
    assert r.ok
    c = live.config()
    assert (c.super_admin, c.pending_super_admin) == (new.pubkey(), None)
    [event] = audit(r)
    assert (event.action, event.actor, event.subject, event.seq) == (AuditAction.ACCEPT_SUPER_ADMIN, new.pubkey(), new.pubkey(), 4)
    # The old key has lost power; the new one has it.
    failed(live.grant(Role.ADMIN, Keypair().pubkey()), E["NotSuperAdmin"])
    failed(live.grant(Role.RISK_MANAGER, Keypair().pubkey()), E["MissingRole"])
    failed(live.enact(Change.propose_super_admin(live.admin.pubkey())), E["NotSuperAdmin"])
    assert live.grant(Role.ADMIN, Keypair().pubkey(), by=new).ok
    # Accepting twice is impossible: the proposal is consumed.
    failed(live.send([live.ix.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])


def test_hand_over_can_be_withdrawn_and_only_the_super_admin_proposes_it(live: Desk) -> None:
    new = live.chain.keypair()
    admin = live.holder(Role.ADMIN)
    failed(live.enact(Change.propose_super_admin(admin.pubkey()), by=admin), E["NotSuperAdmin"])
    unsigned = with_meta(live.ix.propose(live.admin.pubkey(), live.config().proposal_count, Change.propose_super_admin(new.pubkey())), "proposer", signer=False)
    failed(live.send([unsigned], payer=new), E["MissingSigner"])
    failed(live.send([live.ix.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])  # none proposed
    assert live.enact(Change.propose_super_admin(new.pubkey())).ok
    assert live.enact(Change.propose_super_admin(Pubkey.default())).ok
    assert live.config().pending_super_admin is None
    failed(live.send([live.ix.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])
    assert live.config().super_admin == live.admin.pubkey()


# ---- roles -------------------------------------------------------------------------------------

def test_super_admin_grants_admin_and_admin_grants_the_other_roles(live: Desk) -> None:
    admin = live.chain.keypair()
    r = live.grant(Role.ADMIN, admin.pubkey())
    assert r.ok
    [event] = audit(r)
    assert (event.action, event.subject, event.value, event.seq) == (AuditAction.GRANT_ROLE, admin.pubkey(), Role.ADMIN, 2)
    risk, comp, orc = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    for role, key in ((Role.RISK_MANAGER, risk), (Role.COMPLIANCE, comp), (Role.ORACLE_ADMIN, orc)):
        assert live.grant(role, key, by=admin).ok
    c = live.config()
    assert c.roles == {Role.ADMIN: [admin.pubkey()], Role.RISK_MANAGER: [risk], Role.COMPLIANCE: [comp], Role.ORACLE_ADMIN: [orc]}
    assert (c.audit_seq, c.proposal_count) == (5, 4)
    assert live.revoke(Role.ORACLE_ADMIN, orc, by=admin).ok
    assert live.config().roles[Role.ORACLE_ADMIN] == []


def test_an_admin_cannot_grant_or_revoke_admin(live: Desk) -> None:
    admin, peer = live.holder(Role.ADMIN), live.holder(Role.ADMIN)
    before = live.raw(CONFIG)
    failed(live.grant(Role.ADMIN, Keypair().pubkey(), by=admin), E["NotSuperAdmin"])
    failed(live.grant(Role.ADMIN, admin.pubkey(), by=admin), E["NotSuperAdmin"])
    failed(live.revoke(Role.ADMIN, peer.pubkey(), by=admin), E["NotSuperAdmin"])
    assert live.raw(CONFIG) == before


def test_other_roles_and_strangers_cannot_manage_roles(live: Desk) -> None:
    risk = live.holder(Role.RISK_MANAGER)
    comp = live.holder(Role.COMPLIANCE)
    stranger = live.chain.keypair()
    before = live.raw(CONFIG)
    for who in (risk, comp, stranger):
        failed(live.grant(Role.COMPLIANCE, who.pubkey(), by=who), E["MissingRole"])
        failed(live.revoke(Role.RISK_MANAGER, risk.pubkey(), by=who), E["MissingRole"])
    for role in (Role.COMPLIANCE, Role.ADMIN):
        ix = live.ix.propose(live.admin.pubkey(), 0, Change.grant_role(role, stranger.pubkey()))
        failed(live.send([with_meta(ix, "proposer", signer=False)], payer=stranger), E["MissingSigner"])
    assert live.raw(CONFIG) == before


def test_roles_are_bounded_and_revoke_keeps_rows_compact(live: Desk) -> None:
    keys = [Keypair().pubkey() for _ in range(5)]
    for k in keys[:4]:
        assert live.grant(Role.RISK_MANAGER, k).ok
    before = live.raw(CONFIG)
    failed(live.grant(Role.RISK_MANAGER, keys[4]), E["RoleFull"])
    failed(live.grant(Role.RISK_MANAGER, keys[0]), E["AlreadyHasRole"])
    failed(live.revoke(Role.RISK_MANAGER, keys[4]), E["NotRoleHolder"])
    failed(live.revoke(Role.COMPLIANCE, keys[0]), E["NotRoleHolder"])
    assert live.raw(CONFIG) == before
    r = live.revoke(Role.RISK_MANAGER, keys[1])
    assert r.ok
    [event] = audit(r)
    assert (event.action, event.subject, event.value) == (AuditAction.REVOKE_ROLE, keys[1], Role.RISK_MANAGER)
    assert live.config().roles[Role.RISK_MANAGER] == [keys[0], keys[3], keys[2]]  # swap-remove
    row = 80 + Role.RISK_MANAGER * 4 * 32
    assert live.raw(CONFIG)[row + 3 * 32: row + 4 * 32] == bytes(32), "the freed slot is zeroed"
    assert live.grant(Role.RISK_MANAGER, keys[4]).ok
    assert live.config().roles[Role.RISK_MANAGER] == [keys[0], keys[3], keys[2], keys[4]]


def test_role_arguments_are_validated(live: Desk) -> None:
    change = bytearray(Change.grant_role(Role.COMPLIANCE, Keypair().pubkey()))
    change[1] = 4
    failed(live.enact(bytes(change)), E["InvalidRole"])
    failed(live.enact(b"\x09"), E["InvalidChange"])
    failed(live.grant(Role.COMPLIANCE, Pubkey.default()), E["InvalidHolder"])
    failed(live.revoke(Role.COMPLIANCE, Pubkey.default()), E["InvalidHolder"])


def test_a_revoked_admin_loses_its_power(live: Desk) -> None:
    admin = live.holder(Role.ADMIN)
    assert live.revoke(Role.ADMIN, admin.pubkey()).ok
    failed(live.grant(Role.COMPLIANCE, Keypair().pubkey(), by=admin), E["MissingRole"])
    failed(live.pause(admin, Operation.WITHDRAW.bit, paused=False), E["MissingRole"])


# ---- pauses and rate limit -----------------------------------------------------------------------

def test_risk_manager_pauses_but_cannot_unpause(live: Desk) -> None:
    risk = live.holder(Role.RISK_MANAGER)
    ops = security.mask([Operation.WITHDRAW, Operation.PLACE_ORDER])
    r = live.pause(risk, ops)
    assert r.ok
    c = live.config()
    assert c.global_pause == ops and c.is_paused(Operation.WITHDRAW) and not c.is_paused(Operation.DEPOSIT)
    [event] = audit(r)
    assert (event.action, event.actor, event.value, event.target) == (AuditAction.PAUSE, risk.pubkey(), ops | NO_MARKET << 8, CONFIG)
    before = live.raw(CONFIG)
    failed(live.pause(risk, Operation.WITHDRAW.bit, paused=False), E["MissingRole"])
    assert live.raw(CONFIG) == before
    admin = live.holder(Role.ADMIN)
    r = live.pause(admin, Operation.WITHDRAW.bit, paused=False)
    assert r.ok
    assert live.config().global_pause == Operation.PLACE_ORDER.bit
    assert audit(r)[0].action == AuditAction.UNPAUSE


def test_per_market_pauses(live: Desk) -> None:
    risk = live.holder(Role.RISK_MANAGER)
    r = live.pause(risk, Operation.FILL.bit, market=63)
    assert r.ok
    assert audit(r)[0].value == Operation.FILL.bit | 63 << 8
    c = live.config()
    assert c.market_pause[63] == Operation.FILL.bit and c.global_pause == 0
    assert c.is_paused(Operation.FILL, 63) and not c.is_paused(Operation.FILL, 62)
    # The super-admin holds every role: it pauses and unpauses.
    assert live.pause(live.admin, Operation.FILL.bit, market=5).ok
    assert live.pause(live.admin, Operation.FILL.bit, paused=False, market=63).ok
    assert live.config().market_pause[63] == 0 and live.config().market_pause[5] == Operation.FILL.bit


def test_pausing_needs_risk_manager_or_admin(live: Desk) -> None:
    others = [live.holder(Role.COMPLIANCE), live.holder(Role.ORACLE_ADMIN), live.chain.keypair()]
    before = live.raw(CONFIG)
    for who in others:
        failed(live.pause(who, Operation.DEPOSIT.bit), E["MissingRole"])
    unsigned = with_meta(live.ix.set_pause(live.admin.pubkey(), 1, True), "authority", signer=False)
    failed(live.send([unsigned], payer=others[-1]), E["MissingSigner"])
    assert live.raw(CONFIG) == before


@pytest.mark.parametrize(("market", "operations", "code"), [
    (64, 1, "InvalidMarket"), (NO_MARKET - 1, 1, "InvalidMarket"), (0, 0, "InvalidOperations"), (0, 0x80, "InvalidOperations"),
])
def test_pause_arguments_are_validated(live: Desk, market: int, operations: int, code: str) -> None:
    failed(live.pause(live.admin, operations, market=market), E[code])


def test_admin_sets_the_rate_limit(live: Desk) -> None:
    admin = live.holder(Role.ADMIN)
    r = live.enact(Change.set_rate_limit(20, 250), by=admin)
    assert r.ok
    assert live.config().rate_limit == security.RateLimit(20, 250)
    [event] = audit(r)
    assert (event.action, event.actor, event.value) == (AuditAction.SET_RATE_LIMIT, admin.pubkey(), 20 << 32 | 250)
    risk = live.holder(Role.RISK_MANAGER)
    failed(live.enact(Change.set_rate_limit(1, 1), by=risk), E["MissingRole"])
    failed(live.enact(Change.set_rate_limit(5, 0), by=admin), E["InvalidRateLimit"])
    failed(live.enact(Change.set_rate_limit(0, 5), by=admin), E["InvalidRateLimit"])
    assert live.enact(Change.set_rate_limit(0, 0), by=admin).ok
    assert live.config().rate_limit == security.RateLimit(0, 0)


# ---- the config account ------------------------------------------------------------------------

CONFIG_WRITERS: list[Callable[[Desk], Instruction]] = [
    lambda d: d.ix.propose(d.admin.pubkey(), d.config().proposal_count, Change.propose_super_admin(Keypair().pubkey())),
    lambda d: d.ix.propose(d.admin.pubkey(), d.config().proposal_count, Change.grant_role(Role.RISK_MANAGER, Keypair().pubkey())),
    lambda d: d.ix.set_pause(d.admin.pubkey(), 1, True),
    lambda d: d.ix.accept_super_admin(d.admin.pubkey()),
]


@pytest.mark.parametrize("make", CONFIG_WRITERS)
def test_config_writers_refuse_fake_configs(live: Desk, make: Callable[[Desk], Instruction]) -> None:
    real = live.chain.account(CONFIG)
    assert real is not None
    base = make(live)
    # A SecurityConfig-sized system account (same bytes, naming the attacker super-admin) elsewhere.
    fake = Keypair().pubkey()
    live.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(live.send([with_meta(base, "config", key=fake)]), E["WrongAddress"])
    # An account of another program (an oracle PriceFeed).
    assert live.send([oracle.OracleInstructions().initialize_feed(live.admin.pubkey(), "SOL/USD", -6, 60, [live.admin.pubkey()])]).ok
    failed(live.send([with_meta(base, "config", key=oracle.feed_address("SOL/USD"))]), E["WrongAddress"])
    failed(live.send([with_meta(base, "config", writable=False)]), E["NotWritable"])
    assert live.raw(CONFIG) == bytes(real.data)


def test_the_config_address_is_checked_for_owner_and_type(live: Desk) -> None:
    real = live.chain.account(CONFIG)
    assert real is not None
    ix = live.ix.set_pause(live.admin.pubkey(), 1, True)
    # At the right address but owned by the System program (as if forged there).
    live.chain.set_account(CONFIG, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(live.send([ix]), E["WrongOwner"])
    # Owned by qd-security with another account type's discriminator (type cosplay).
    live.chain.set_account(CONFIG, Account(real.lamports, idl.discriminator("account", "Session") + bytes(real.data)[8:], security.PROGRAM_ID))
    failed(live.send([ix]), E["WrongDiscriminator"])
    live.chain.set_account(CONFIG, Account(real.lamports, bytes(real.data)[:200], security.PROGRAM_ID))
    failed(live.send([ix]), E["WrongAccountSize"])


# ---- the timelock ------------------------------------------------------------------------------

def test_a_role_grant_waits_out_the_delay(live: Desk) -> None:
    risk = Keypair().pubkey()
    r, address = live.propose(Change.grant_role(Role.RISK_MANAGER, risk))
    assert r.ok, r.logs
    p = live.proposal(address)
    assert (p.id, p.state, p.authority, p.proposer, p.target_program, p.created_at, p.eta, p.threshold) == (
        0, ProposalState.PENDING, Role.ADMIN, live.admin.pubkey(), security.PROGRAM_ID, T0, T0 + LOCAL_TIMELOCK_DELAY, 0)
    assert p.data == Change.grant_role(Role.RISK_MANAGER, risk)
    [event] = security.parse_events(r.logs)
    assert (event.name, event.data.action, event.data.id, event.data.by, event.data.eta) == (
        "ProposalEvent", ProposalAction.CREATED, 0, live.admin.pubkey(), T0 + LOCAL_TIMELOCK_DELAY)
    # Before the eta: refused, nothing changes; one second before is still too early.
    before = {a: live.raw(a) for a in (CONFIG, address)}
    failed(live.execute(address), E["TimelockNotReady"])
    live.chain.advance(seconds=LOCAL_TIMELOCK_DELAY - 1)
    failed(live.execute(address), E["TimelockNotReady"])
    assert {a: live.raw(a) for a in before} == before
    assert not live.config().has_role(Role.RISK_MANAGER, risk)
    live.chain.advance(seconds=1)
    stranger = live.chain.keypair()  # execution is permissionless: any fee payer
    r = live.send([live.ix.execute_proposal(address)], payer=stranger)
    assert r.ok, r.logs
    assert live.config().roles[Role.RISK_MANAGER] == [risk]
    [grant] = audit(r)
    assert (grant.action, grant.actor, grant.subject, grant.value) == (AuditAction.GRANT_ROLE, live.admin.pubkey(), risk, Role.RISK_MANAGER)
    assert live.proposal(address).state == ProposalState.EXECUTED
    # Executed twice: refused by name, nothing changes.
    before = {a: live.raw(a) for a in (CONFIG, address)}
    failed(live.execute(address), E["ProposalAlreadyExecuted"])
    assert {a: live.raw(a) for a in before} == before


def test_a_cancelled_proposal_never_executes(live: Desk) -> None:
    admin, stranger = live.holder(Role.ADMIN), live.chain.keypair()
    r, address = live.propose(Change.grant_role(Role.COMPLIANCE, stranger.pubkey()), by=admin)
    assert r.ok
    before = live.raw(address)
    for who in (stranger, live.holder(Role.RISK_MANAGER)):
        failed(live.send([live.ix.cancel_proposal(who.pubkey(), address)], who), E["NotCanceller"])
    failed(live.send([with_meta(live.ix.cancel_proposal(admin.pubkey(), address), "authority", signer=False)]), E["MissingSigner"])
    assert live.raw(address) == before
    r = live.send([live.ix.cancel_proposal(admin.pubkey(), address)], admin)  # the proposer
    assert r.ok
    [event] = security.parse_events(r.logs)
    assert (event.data.action, event.data.by) == (ProposalAction.CANCELLED, admin.pubkey())
    live.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    before = {a: live.raw(a) for a in (CONFIG, address)}
    failed(live.execute(address), E["ProposalCancelled"])
    failed(live.send([live.ix.cancel_proposal(admin.pubkey(), address)], admin), E["ProposalCancelled"])
    assert {a: live.raw(a) for a in before} == before
    assert not live.config().has_role(Role.COMPLIANCE, stranger.pubkey())


@pytest.mark.parametrize("canceller", ["other admin", "super-admin"])
def test_any_admin_or_the_super_admin_cancels(live: Desk, canceller: str) -> None:
    admin = live.holder(Role.ADMIN)
    who = live.holder(Role.ADMIN) if canceller == "other admin" else live.admin
    r, address = live.propose(Change.set_rate_limit(1, 1), by=admin)
    assert r.ok
    assert live.send([live.ix.cancel_proposal(who.pubkey(), address)], who).ok
    assert live.proposal(address).state == ProposalState.CANCELLED


def test_finished_proposals_close_and_return_their_rent_to_the_proposer(live: Desk) -> None:
    """A pending proposal cannot be closed (that would cancel it without a canceller's key), nor
    its rent sent elsewhere; once executed or cancelled anyone closes it and the proposer gets
    the rent back. Its address is never proposed again (ids only grow)."""
    admin = live.holder(Role.ADMIN)
    r, pending = live.propose(Change.set_rate_limit(3, 3), by=admin)
    assert r.ok
    before = live.raw(pending)
    failed(live.send([live.ix.close_proposal(pending, admin.pubkey())]), E["ProposalPending"])
    assert live.send([live.ix.cancel_proposal(admin.pubkey(), pending)], admin).ok
    failed(live.send([live.ix.close_proposal(pending, live.chain.keypair().pubkey())]), E["NotProposer"])
    assert live.raw(pending) != before  # cancelled, still there
    rent, lamports = live.chain.lamports(pending), live.chain.lamports(admin.pubkey())
    assert live.send([live.ix.close_proposal(pending, admin.pubkey())]).ok
    assert live.chain.account(pending) is None or live.chain.lamports(pending) == 0
    assert live.chain.lamports(admin.pubkey()) == lamports + rent
    assert live.config().proposal_count > int.from_bytes(before[24:32], "little")


def test_outsiders_cannot_propose(live: Desk) -> None:
    risk, stranger = live.holder(Role.RISK_MANAGER), live.chain.keypair()
    before = live.raw(CONFIG)
    for who in (risk, stranger):
        r, address = live.propose(Change.grant_role(Role.RISK_MANAGER, who.pubkey()), by=who)
        failed(r, E["MissingRole"])
        failed(live.propose(Change.unpause(Operation.FILL.bit), by=who)[0], E["MissingRole"])
        failed(live.propose(Change.set_timelock_delay(0), by=who)[0], E["NotSuperAdmin"])
        assert live.chain.account(address) is None
    # An ADMIN proposes ADMIN-level changes only.
    admin = live.holder(Role.ADMIN)
    before = live.raw(CONFIG)
    for change in (Change.grant_role(Role.ADMIN, stranger.pubkey()), Change.propose_super_admin(admin.pubkey()), Change.set_timelock_delay(0)):
        failed(live.propose(change, by=admin)[0], E["NotSuperAdmin"])
    assert live.raw(CONFIG) == before


def test_proposal_account_checks(live: Desk) -> None:
    count = live.config().proposal_count
    base = live.ix.propose(live.admin.pubkey(), count, Change.set_rate_limit(1, 1))
    # The PDA of another id, a proposal address that is not the next one, the config itself.
    failed(live.send([with_meta(base, "proposal", key=security.proposal_address(count + 1))]), E["WrongAddress"])
    failed(live.send([with_meta(base, "proposal", key=Keypair().pubkey())]), E["WrongAddress"])
    failed(live.send([with_meta(base, "proposal", key=CONFIG)]), E["DuplicateAccount"])
    failed(live.send([with_meta(base, "proposal", writable=False)]), E["NotWritable"])
    failed(live.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    failed(live.send([with_meta(base, "instructions", key=security.AUTHORITY)]), E["WrongAddress"])  # not the Instructions sysvar
    # Another program as the target: only qd-security's own changes for now.
    ix = live.ix.program.instruction["propose"](oracle.PROGRAM_ID, Change.set_rate_limit(1, 1), ctx=Context(accounts={
        "proposer": live.admin.pubkey(), "config": CONFIG, "proposal": security.proposal_address(count),
        "system_program": SYSTEM_PROGRAM, "instructions": security.INSTRUCTIONS_SYSVAR}))
    failed(live.send([ix]), E["UnsupportedTarget"])
    assert live.chain.account(security.proposal_address(count)) is None
    assert live.config().proposal_count == count


def test_stored_changes_cannot_be_altered(live: Desk) -> None:
    holder = Keypair().pubkey()
    r, address = live.propose(Change.grant_role(Role.COMPLIANCE, holder))
    assert r.ok
    account = live.chain.account(address)
    assert account is not None and account.owner == security.PROGRAM_ID  # only qd-security writes it
    # Execution takes no data from the caller: the discriminator alone, and only these accounts.
    ix = live.ix.execute_proposal(address)
    assert bytes(ix.data) == idl.discriminator("global", "execute_proposal")
    failed(live.send([Instruction(ix.program_id, bytes(ix.data) + Change.grant_role(Role.ADMIN, holder), ix.accounts)]), E["InvalidInstructionData"])
    # A forged proposal (the same bytes with the change swapped for ADMIN) is not qd-security's.
    forged = bytearray(account.data)
    forged[408:408 + 34] = Change.grant_role(Role.ADMIN, holder)
    fake = Keypair().pubkey()
    live.chain.set_account(fake, Account(account.lamports, bytes(forged), SYSTEM_PROGRAM))
    live.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    failed(live.execute(fake), E["WrongOwner"])
    # Another qd-security account (the config, a session) as the proposal.
    failed(live.send([with_meta(ix, "proposal", key=CONFIG)]), E["DuplicateAccount"])
    owner, key = live.chain.keypair(), Keypair().pubkey()
    assert live.session(owner, key).ok
    failed(live.send([with_meta(ix, "proposal", key=security.session_address(owner.pubkey(), key))]), E["WrongAccountSize"])
    assert live.execute(address).ok
    assert live.config().roles[Role.COMPLIANCE] == [holder] and live.config().roles[Role.ADMIN] == []


def test_a_proposer_who_lost_the_role_cannot_execute(live: Desk) -> None:
    admin = live.holder(Role.ADMIN)
    r, address = live.propose(Change.set_rate_limit(3, 3), by=admin)
    assert r.ok
    assert live.revoke(Role.ADMIN, admin.pubkey()).ok  # the revocation's own delay passes meanwhile
    before = live.raw(CONFIG)
    failed(live.execute(address), E["ProposerLostAuthority"])
    assert live.raw(CONFIG) == before
    # Its queued change can still be cancelled by a remaining ADMIN (the super-admin).
    assert live.send([live.ix.cancel_proposal(live.admin.pubkey(), address)]).ok


def test_changes_that_cannot_apply_when_executed_are_refused_then(live: Desk) -> None:
    holder = Keypair().pubkey()
    first, a = live.propose(Change.grant_role(Role.COMPLIANCE, holder))
    second, b = live.propose(Change.grant_role(Role.COMPLIANCE, holder))
    assert first.ok and second.ok  # each dry-runs against the config as it is now
    live.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert live.execute(a).ok
    before = {x: live.raw(x) for x in (CONFIG, b)}
    failed(live.execute(b), E["AlreadyHasRole"])
    assert {x: live.raw(x) for x in before} == before


def test_the_delay_is_set_through_the_timelock(live: Desk) -> None:
    r = live.enact(Change.set_timelock_delay(600))
    assert r.ok
    assert audit(r)[0].action == AuditAction.SET_TIMELOCK_DELAY and live.config().timelock_delay == 600
    r, address = live.propose(Change.set_rate_limit(1, 1))
    assert live.proposal(address).eta == live.chain.clock.unix_timestamp + 600
    live.chain.advance(seconds=599)
    failed(live.execute(address), E["TimelockNotReady"])
    live.chain.advance(seconds=1)
    assert live.execute(address).ok
    failed(live.enact(Change.set_timelock_delay(-1)), E["InvalidTimelockDelay"])
    failed(live.enact(Change.set_timelock_delay(security.MAX_TIMELOCK_DELAY + 1)), E["InvalidTimelockDelay"])


def test_an_upgradeable_deployment_keeps_the_two_day_minimum(d: Desk) -> None:
    # Redeployed through the upgradeable loader, as on every public cluster.
    d.chain.deploy_upgradeable("qd_security", security.PROGRAM_ID, d.admin.pubkey())
    failed(d.init(LOCAL_TIMELOCK_DELAY), E["InvalidTimelockDelay"])
    failed(d.init(security.MIN_TIMELOCK_DELAY - 1), E["InvalidTimelockDelay"])
    assert d.chain.account(CONFIG) is None
    assert d.init(security.MIN_TIMELOCK_DELAY).ok
    c = d.config()
    assert (c.timelock_delay, c.min_timelock_delay) == (security.MIN_TIMELOCK_DELAY, security.MIN_TIMELOCK_DELAY)
    # Nor can the delay be lowered below it later.
    failed(d.propose(Change.set_timelock_delay(security.MIN_TIMELOCK_DELAY - 1))[0], E["InvalidTimelockDelay"])
    r, address = d.propose(Change.set_timelock_delay(security.MAX_TIMELOCK_DELAY))
    assert r.ok and d.proposal(address).eta == T0 + security.MIN_TIMELOCK_DELAY


@pytest.mark.parametrize("delay", [-1, security.MAX_TIMELOCK_DELAY + 1])
def test_initialize_bounds_the_delay(d: Desk, delay: int) -> None:
    failed(d.init(delay), E["InvalidTimelockDelay"])
    assert d.chain.account(CONFIG) is None


class Council:
    """The live desk with a 2-of-3 approval set made the super-admin through the timelock."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.members = [desk.chain.keypair() for _ in range(3)]
        creator = desk.chain.keypair()
        ix = desk.ix.create_approval_set(creator.pubkey(), 7, 2, [m.pubkey() for m in self.members])
        assert desk.send([ix], creator).ok
        self.set = security.approval_set_address(creator.pubkey(), 7)
        assert desk.enact(Change.propose_super_admin(self.set)).ok
        r = desk.send([desk.ix.accept_super_admin(self.members[1].pubkey(), self.set)], self.members[1])
        assert r.ok, r.logs
        assert desk.config().super_admin == self.set

    def propose(self, change: bytes, by: int = 0) -> tuple[TxResult, Pubkey]:
        return self.desk.propose(change, self.members[by], approval_set=self.set)

    def approve(self, proposal: Pubkey, who: Keypair) -> TxResult:
        return self.desk.send([self.desk.ix.approve_proposal(who.pubkey(), proposal, self.set)], who)


@pytest.fixture
def council(live: Desk) -> Council:
    return Council(live)


def test_an_approval_set_records_its_members(council: Council) -> None:
    s = security.decode_approval_set(council.set, council.desk.raw(council.set))
    assert (s.threshold, s.set_id, s.members) == (2, 7, [m.pubkey() for m in council.members])
    account = council.desk.chain.account(council.set)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 344
    creator = council.desk.chain.keypair()
    keys = [Keypair().pubkey() for _ in range(9)]
    for threshold, members in ((0, keys[:2]), (3, keys[:2]), (1, []), (1, [keys[0], keys[0]]), (1, keys[:9])):
        failed(council.desk.send([council.desk.ix.create_approval_set(creator.pubkey(), 1, threshold, members)], creator), E["InvalidApprovalSet"])
    assert council.desk.chain.account(security.approval_set_address(creator.pubkey(), 1)) is None


def test_the_old_super_admin_key_has_no_power_left(council: Council) -> None:
    desk = council.desk
    failed(desk.propose(Change.grant_role(Role.ADMIN, Keypair().pubkey()))[0], E["NotSuperAdmin"])
    failed(desk.propose(Change.set_rate_limit(1, 1))[0], E["MissingRole"])
    failed(desk.pause(desk.admin, Operation.FILL.bit), E["MissingRole"])


def test_a_super_admin_change_needs_m_approvals_before_its_delay(council: Council) -> None:
    desk, (a, b, c) = council.desk, council.members
    admin = Keypair().pubkey()
    r, address = council.propose(Change.grant_role(Role.ADMIN, admin), by=0)
    assert r.ok, r.logs
    p = desk.proposal(address)
    assert (p.authority, p.approval_set, p.threshold, p.approval_count, p.approvals, p.eta) == (
        security.AUTHORITY_SUPER_ADMIN, council.set, 2, 1, 0b001, 0)
    # M-1 approvals: not executable however long one waits.
    desk.chain.advance(seconds=10 * LOCAL_TIMELOCK_DELAY)
    before = {x: desk.raw(x) for x in (CONFIG, address)}
    failed(desk.execute(address), E["ProposalNotApproved"])
    # The same member twice, a non-member, an unsigned approval, another set: refused.
    failed(council.approve(address, a), E["AlreadyApproved"])
    outsider = desk.chain.keypair()
    failed(council.approve(address, outsider), E["NotApprovalMember"])
    failed(desk.send([with_meta(desk.ix.approve_proposal(b.pubkey(), address, council.set), "member", signer=False)]), E["MissingSigner"])
    other_creator = desk.chain.keypair()
    assert desk.send([desk.ix.create_approval_set(other_creator.pubkey(), 1, 1, [outsider.pubkey()])], other_creator).ok
    other = security.approval_set_address(other_creator.pubkey(), 1)
    failed(desk.send([desk.ix.approve_proposal(outsider.pubkey(), address, other)], outsider), E["WrongApprovalSet"])
    assert {x: desk.raw(x) for x in before} == before
    # The M-th approval starts the delay.
    r = council.approve(address, c)
    assert r.ok, r.logs
    now = desk.chain.clock.unix_timestamp
    p = desk.proposal(address)
    assert (p.approval_count, p.approvals, p.eta) == (2, 0b101, now + LOCAL_TIMELOCK_DELAY)
    [event] = security.parse_events(r.logs)
    assert (event.data.action, event.data.by, event.data.approval_count) == (ProposalAction.APPROVED, c.pubkey(), 2)
    failed(desk.execute(address), E["TimelockNotReady"])
    desk.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    r = desk.execute(address)
    assert r.ok, r.logs
    assert desk.config().roles[Role.ADMIN] == [admin]
    failed(council.approve(address, b), E["ProposalAlreadyExecuted"])


def test_admin_changes_need_no_approvals(council: Council) -> None:
    desk = council.desk
    admin = desk.chain.keypair()
    r, grant = council.propose(Change.grant_role(Role.ADMIN, admin.pubkey()))
    assert council.approve(grant, council.members[2]).ok
    desk.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert desk.execute(grant).ok
    r, address = desk.propose(Change.set_rate_limit(4, 4), by=admin)
    assert r.ok and desk.proposal(address).threshold == 0
    failed(council.approve(address, council.members[0]), E["ApprovalsNotNeeded"])
    # A member of the set is no ADMIN.
    failed(desk.propose(Change.set_rate_limit(4, 4), by=council.members[0])[0], E["MissingRole"])


def test_a_member_of_the_set_cancels(council: Council) -> None:
    desk = council.desk
    r, address = council.propose(Change.set_timelock_delay(30), by=0)
    assert r.ok
    member = council.members[2]
    failed(desk.send([desk.ix.cancel_proposal(member.pubkey(), address)], member), E["NotCanceller"])  # without the set
    assert desk.send([desk.ix.cancel_proposal(member.pubkey(), address, council.set)], member).ok
    assert desk.proposal(address).state == ProposalState.CANCELLED
    failed(council.approve(address, council.members[1]), E["ProposalCancelled"])


def test_approvals_of_a_replaced_set_authorize_nothing(council: Council) -> None:
    desk, (a, b, _) = council.desk, council.members
    r, stale = council.propose(Change.grant_role(Role.ADMIN, Keypair().pubkey()), by=0)
    assert r.ok
    # The council hands the super-admin to a single key (2 of 3 approve), who accepts.
    successor = desk.chain.keypair()
    r, hand_over = council.propose(Change.propose_super_admin(successor.pubkey()), by=1)
    assert council.approve(hand_over, a).ok
    desk.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert desk.execute(hand_over).ok
    assert desk.send([desk.ix.accept_super_admin(successor.pubkey())], successor).ok
    failed(council.approve(stale, b), E["ProposerLostAuthority"])
    before = {x: desk.raw(x) for x in (CONFIG, stale)}
    failed(desk.execute(stale), E["ProposalNotApproved"])
    assert {x: desk.raw(x) for x in before} == before


def test_accepting_for_an_approval_set_takes_a_member(live: Desk) -> None:
    members = [live.chain.keypair() for _ in range(2)]
    creator = live.chain.keypair()
    assert live.send([live.ix.create_approval_set(creator.pubkey(), 0, 2, [m.pubkey() for m in members])], creator).ok
    council = security.approval_set_address(creator.pubkey(), 0)
    assert live.enact(Change.propose_super_admin(council)).ok
    outsider = live.chain.keypair()
    before = live.raw(CONFIG)
    failed(live.send([live.ix.accept_super_admin(outsider.pubkey(), council)], outsider), E["NotPendingSuperAdmin"])
    failed(live.send([live.ix.accept_super_admin(members[0].pubkey())], members[0]), E["NotPendingSuperAdmin"])  # set not shown
    assert live.raw(CONFIG) == before
    assert live.send([live.ix.accept_super_admin(members[0].pubkey(), council)], members[0]).ok
    assert live.config().super_admin == council


def test_pause_is_immediate_and_unpause_timelocked(t: Trader) -> None:
    desk = t.desk
    risk, admin = desk.holder(Role.RISK_MANAGER), desk.holder(Role.ADMIN)
    assert desk.pause(risk, Operation.WITHDRAW.bit).ok  # one transaction, in effect at once
    failed(desk.check(t.owner, t.margin, Action.WITHDRAW), E["Paused"])
    before = desk.raw(CONFIG)
    failed(desk.send([desk.ix.set_pause(admin.pubkey(), Operation.WITHDRAW.bit, False)], admin), E["UnpauseRequiresTimelock"])
    assert desk.raw(CONFIG) == before
    r, address = desk.propose(Change.unpause(Operation.WITHDRAW.bit), by=admin)
    assert r.ok
    failed(desk.execute(address), E["TimelockNotReady"])
    failed(desk.check(t.owner, t.margin, Action.WITHDRAW), E["Paused"])  # still paused while queued
    desk.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    r = desk.execute(address)
    assert r.ok
    assert audit(r)[0].action == AuditAction.UNPAUSE and desk.config().global_pause == 0
    assert actor(desk.check(t.owner, t.margin, Action.WITHDRAW)) == Actor.OWNER


def test_freeze_is_immediate(t: Trader) -> None:
    proposals = t.desk.config().proposal_count
    r = t.freeze()  # no proposal: one transaction, in effect at once
    assert r.ok
    failed(t.desk.check(t.owner, t.margin, Action.WITHDRAW), E["AccountFrozen"])
    assert t.desk.config().proposal_count == proposals


PRIVILEGED: list[tuple[str, Callable[[Trader, Pubkey], tuple[Instruction, Keypair | None]]]] = [
    ("set_pause", lambda t, p: (t.desk.ix.set_pause(t.desk.admin.pubkey(), Operation.FILL.bit), None)),
    ("freeze_account", lambda t, p: (t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 3), t.compliance)),
    ("propose", lambda t, p: (t.desk.ix.propose(t.desk.admin.pubkey(), t.desk.config().proposal_count, Change.set_rate_limit(9, 9)), None)),
    ("execute_proposal", lambda t, p: (t.desk.ix.execute_proposal(p), None)),
    ("cancel_proposal", lambda t, p: (t.desk.ix.cancel_proposal(t.desk.admin.pubkey(), p), None)),
    ("accept_super_admin", lambda t, p: (t.desk.ix.accept_super_admin(t.desk.admin.pubkey()), None)),
]


@pytest.mark.parametrize(("name", "make"), PRIVILEGED, ids=[n for n, _ in PRIVILEGED])
def test_privileged_instructions_refuse_durable_nonces(t: Trader, name: str, make: Callable[[Trader, Pubkey], tuple[Instruction, Keypair | None]]) -> None:
    desk = t.desk
    nonce = Nonce(desk.chain, desk.admin)
    r, proposal = desk.propose(Change.set_rate_limit(5, 5))
    assert r.ok
    if name == "accept_super_admin":
        assert desk.enact(Change.propose_super_admin(desk.admin.pubkey())).ok
    desk.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    ix, signer = make(t, proposal)
    signers = [signer] if signer else []
    watched = (CONFIG, proposal, t.margin)
    before = {a: desk.raw(a) for a in watched}
    failed(nonce.send([ix], *signers), E["DurableNonce"])
    assert {a: desk.raw(a) for a in watched} == before
    # A fake Instructions sysvar (an account the attacker fills with a harmless-looking list).
    assert account_meta(ix, "instructions").pubkey == security.INSTRUCTIONS_SYSVAR
    failed(desk.send([with_meta(ix, "instructions", key=Keypair().pubkey())], *signers), E["WrongAddress"])
    # The same instruction without the nonce: accepted.
    r = desk.send([ix], *signers)
    assert r.ok, r.logs


def test_approve_refuses_a_durable_nonce(council: Council) -> None:
    desk = council.desk
    nonce = Nonce(desk.chain, desk.admin)
    r, address = council.propose(Change.set_timelock_delay(5))
    before = desk.raw(address)
    ix = desk.ix.approve_proposal(council.members[1].pubkey(), address, council.set)
    failed(nonce.send([ix], council.members[1]), E["DurableNonce"])
    assert desk.raw(address) == before
    assert desk.send([ix], council.members[1]).ok


# ---- freeze / unfreeze ---------------------------------------------------------------------------

def test_compliance_freezes_and_unfreezes_through_qd_core(t: Trader) -> None:
    r = t.freeze(reason=7)
    assert r.ok, r.logs
    m = t.desk.margin(t.margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (True, 7, 1)
    [event] = audit(r)
    assert (event.action, event.actor, event.target, event.subject, event.value, event.seq) == (
        AuditAction.FREEZE, t.compliance.pubkey(), t.margin, t.owner.pubkey(), 7, 1)
    r = t.unfreeze(reason=8)
    assert r.ok, r.logs
    m = t.desk.margin(t.margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (False, 0, 2)
    [event] = audit(r)
    assert (event.action, event.value, event.seq) == (AuditAction.UNFREEZE, 8, 2)
    # The config's own sequence is untouched by freezes.
    assert t.desk.config().audit_seq == 2  # initialize, grant compliance


def test_freeze_state_and_reason_are_checked(t: Trader) -> None:
    before = t.desk.raw(t.margin)
    failed(t.unfreeze(), E["NotFrozen"])
    failed(t.freeze(reason=0), E["InvalidReason"])
    assert t.desk.raw(t.margin) == before
    assert t.freeze().ok
    frozen = t.desk.raw(t.margin)
    failed(t.freeze(), E["AlreadyFrozen"])
    failed(t.unfreeze(reason=0), E["InvalidReason"])
    assert t.desk.raw(t.margin) == frozen


def test_only_compliance_freezes(t: Trader) -> None:
    before = t.desk.raw(t.margin)
    for role in (Role.ADMIN, Role.RISK_MANAGER, Role.ORACLE_ADMIN):
        failed(t.freeze(by=t.desk.holder(role)), E["MissingRole"])
    failed(t.freeze(by=t.owner), E["MissingRole"])
    ix = with_meta(t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7), "compliance", signer=False)
    failed(t.desk.send([ix]), E["MissingSigner"])
    assert t.desk.raw(t.margin) == before
    assert t.freeze(by=t.desk.admin).ok  # the super-admin holds every role


def test_freeze_refuses_fake_margin_accounts(t: Trader) -> None:
    real = t.desk.chain.account(t.margin)
    assert real is not None
    base = t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7)
    fake = Keypair().pubkey()
    t.desk.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, "margin_account", key=fake)], t.compliance), E["WrongOwner"])
    t.desk.chain.set_account(fake, Account(real.lamports, bytes(real.data), security.PROGRAM_ID))
    failed(t.desk.send([with_meta(base, "margin_account", key=fake)], t.compliance), E["WrongOwner"])
    # Another qd-core account type (the GlobalConfig) as the margin account.
    failed(t.desk.send([with_meta(base, "margin_account", key=core.GLOBAL)], t.compliance), E["WrongAccountSize"])
    failed(t.desk.send([with_meta(base, "margin_account", writable=False)], t.compliance), E["NotWritable"])
    assert t.desk.raw(t.margin) == bytes(real.data)


def test_freeze_refuses_an_arbitrary_cpi_target_and_a_fake_signer_pda(t: Trader) -> None:
    base = t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7)
    before = t.desk.raw(t.margin)
    # An attacker's program (any executable) in place of qd-core would get our PDA's signature.
    attacker = t.desk.chain.deploy("qd_test_runtime", Keypair().pubkey())
    failed(t.desk.send([with_meta(base, "core_program", key=attacker)], t.compliance), E["WrongProgram"])
    failed(t.desk.send([with_meta(base, "core_program", key=oracle.PROGRAM_ID)], t.compliance), E["WrongProgram"])
    # Another key as the security authority (a signer the attacker controls, or a wrong PDA).
    failed(t.desk.send([with_meta(base, "security_authority", key=t.compliance.pubkey())], t.compliance), E["WrongAddress"])
    failed(t.desk.send([with_meta(base, "security_authority", key=CONFIG)], t.compliance), E["WrongAddress"])
    # The config account of another program, or a duplicate of the margin account.
    failed(t.desk.send([with_meta(base, "config", key=core.GLOBAL)], t.compliance), E["WrongAddress"])
    failed(t.desk.send([with_meta(base, "config", key=t.margin)], t.compliance), E["WrongAddress"])
    config = t.desk.chain.account(CONFIG)
    assert config is not None
    fake = Keypair().pubkey()
    t.desk.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, "config", key=fake)], t.compliance), E["WrongAddress"])
    assert t.desk.raw(t.margin) == before


def test_users_cannot_call_core_set_frozen_directly(t: Trader) -> None:
    before = t.desk.raw(t.margin)
    # A user signing as "security authority" with its own key.
    ix = t.desk.core.set_frozen(t.owner.pubkey(), t.margin, False, 0)
    failed(t.desk.send([ix], t.owner), CORE_E["NotSecurityAuthority"])
    # The real PDA cannot be made to sign outside qd-security's invoke_signed.
    ix = with_meta(t.desk.core.set_frozen(AUTHORITY, t.margin, True, 1), "security_authority", signer=False)
    failed(t.desk.send([ix]), CORE_E["MissingSigner"])
    assert t.desk.raw(t.margin) == before


# ---- sessions ------------------------------------------------------------------------------------

def test_create_session_records_its_limits(live: Desk) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    r = live.session(owner, key, scopes=SCOPE_PLACE, markets=0b1010, max_notional=5_000, expires_at=T0 + 3_600)
    assert r.ok, r.logs
    address = security.session_address(owner.pubkey(), key)
    s = security.decode_session(address, live.raw(address))
    assert (s.owner, s.session_key, s.scopes, s.markets, s.max_notional, s.created_at, s.expires_at, s.revoked) == (
        owner.pubkey(), key, SCOPE_PLACE, 0b1010, 5_000, T0, T0 + 3_600, False)
    assert s.is_live(T0) and not s.is_live(T0 + 3_600)
    [event] = security.parse_events(r.logs)
    assert event.name == "SessionCreated"
    assert (event.data.session, event.data.session_key, event.data.expires_at, event.data.max_notional) == (address, key, T0 + 3_600, 5_000)
    account = live.chain.account(address)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 144


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"expires_at": T0}, "InvalidExpiry"),
    ({"expires_at": T0 - 1}, "InvalidExpiry"),
    ({"expires_at": T0 + 7 * DAY + 1}, "InvalidExpiry"),
    ({"scopes": 0}, "InvalidScopes"),
    ({"scopes": 4}, "InvalidScopes"),
    ({"markets": 0}, "InvalidMarkets"),
    ({"max_notional": 0}, "InvalidMaxNotional"),
])
def test_create_session_validates_arguments(live: Desk, kwargs: dict[str, int], code: str) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    failed(live.session(owner, key, **kwargs), E[code])
    assert live.chain.account(security.session_address(owner.pubkey(), key)) is None


def test_session_key_must_be_another_nonzero_key(live: Desk) -> None:
    owner = live.chain.keypair()
    failed(live.session(owner, owner.pubkey()), E["InvalidSessionKey"])
    failed(live.session(owner, Pubkey.default()), E["InvalidSessionKey"])
    assert live.session(owner, Keypair().pubkey(), expires_at=T0 + 7 * DAY).ok  # exactly 7 days


def test_create_session_account_checks(live: Desk) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    base = live.ix.create_session(owner.pubkey(), key, ALL_SCOPES, 1, 1, T0 + DAY, 10)
    failed(live.send([with_meta(base, "owner", signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(base, "session", writable=False)], owner), E["NotWritable"])
    failed(live.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)], owner), E["WrongProgram"])
    failed(live.send([with_meta(base, "session", key=owner.pubkey())], owner), E["DuplicateAccount"])
    # The PDA of another key, another owner, or a non-canonical bump.
    failed(live.send([with_meta(base, "session", key=security.session_address(owner.pubkey(), Keypair().pubkey()))], owner), E["WrongAddress"])
    failed(live.send([with_meta(base, "session", key=security.session_address(live.admin.pubkey(), key))], owner), E["WrongAddress"])
    seeds = [security.SESSION_SEED, bytes(owner.pubkey()), bytes(key)]
    _, bump = Pubkey.find_program_address(seeds, security.PROGRAM_ID)
    for other in range(bump - 1, -1, -1):
        try:
            address = Pubkey.create_program_address([*seeds, bytes([other])], security.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        failed(live.send([with_meta(base, "session", key=address)], owner), E["WrongAddress"])
        break
    else:
        pytest.fail("no non-canonical bump found")


def test_a_session_cannot_be_created_twice(live: Desk) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    assert live.session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    before = live.raw(address)
    failed(live.session(owner, key, max_notional=10**12), E["AlreadyInitialized"])
    assert live.send([live.ix.revoke_session(owner.pubkey(), address)], owner).ok
    failed(live.session(owner, key), E["AlreadyInitialized"])  # revoked but not closed
    assert live.raw(address)[:11] == before[:11]


@pytest.mark.parametrize("by_owner", [True, False])
def test_owner_or_session_key_revokes(live: Desk, by_owner: bool) -> None:
    owner, key = live.chain.keypair(), live.chain.keypair()
    assert live.session(owner, key.pubkey()).ok
    address = security.session_address(owner.pubkey(), key.pubkey())
    who = owner if by_owner else key
    r = live.send([live.ix.revoke_session(who.pubkey(), address)], who)
    assert r.ok
    assert security.decode_session(address, live.raw(address)).revoked
    [event] = security.parse_events(r.logs)
    assert (event.name, event.data.by, event.data.owner, event.data.session) == ("SessionRevoked", who.pubkey(), owner.pubkey(), address)
    failed(live.send([live.ix.revoke_session(who.pubkey(), address)], who), E["SessionAlreadyRevoked"])


def test_revoke_session_checks(live: Desk) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    assert live.session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    before = live.raw(address)
    stranger = live.chain.keypair()
    failed(live.send([live.ix.revoke_session(stranger.pubkey(), address)], stranger), E["NotSessionParty"])
    failed(live.send([with_meta(live.ix.revoke_session(owner.pubkey(), address), "signer", signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(live.ix.revoke_session(owner.pubkey(), address), "session", writable=False)], owner), E["NotWritable"])
    # Forged sessions: system-owned copy, and the config (another qd-security type).
    fake = Keypair().pubkey()
    live.chain.set_account(fake, Account(10**9, before, SYSTEM_PROGRAM))
    failed(live.send([live.ix.revoke_session(owner.pubkey(), fake)], owner), E["WrongOwner"])
    failed(live.send([live.ix.revoke_session(owner.pubkey(), CONFIG)], owner), E["WrongAccountSize"])
    assert live.raw(address) == before


def test_close_session_only_when_revoked_or_expired(live: Desk) -> None:
    owner, key = live.chain.keypair(), live.chain.keypair()
    assert live.session(owner, key.pubkey(), expires_at=T0 + 60).ok
    address = security.session_address(owner.pubkey(), key.pubkey())
    before = live.raw(address)
    failed(live.send([live.ix.close_session(owner.pubkey(), address)], owner), E["SessionStillActive"])
    failed(live.send([live.ix.close_session(key.pubkey(), address)], key), E["NotSessionOwner"])
    failed(live.send([with_meta(live.ix.close_session(owner.pubkey(), address), "owner", signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(live.ix.close_session(owner.pubkey(), address), "owner", writable=False)], owner), E["NotWritable"])
    assert live.raw(address) == before
    live.chain.advance(slots=10, seconds=60)  # expired
    rent = live.chain.lamports(address)
    balance = live.chain.lamports(owner.pubkey())
    assert live.send([live.ix.close_session(owner.pubkey(), address)], owner).ok
    assert live.chain.lamports(address) == 0 and live.chain.lamports(owner.pubkey()) == balance + rent
    # Closed: a new session for the same key can be created.
    assert live.session(owner, key.pubkey(), expires_at=T0 + 2 * DAY).ok


def test_close_a_revoked_session(live: Desk) -> None:
    owner, key = live.chain.keypair(), Keypair().pubkey()
    assert live.session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    assert live.send([live.ix.revoke_session(owner.pubkey(), address)], owner).ok
    assert live.send([live.ix.close_session(owner.pubkey(), address)], owner).ok
    assert live.chain.account(address) is None or len(live.chain.account(address).data) == 0  # type: ignore[union-attr]


# ---- check_action ----------------------------------------------------------------------------------

def actor(result: TxResult) -> Actor:
    assert result.ok, result.logs
    return Actor(result.return_data[0])


def test_owner_may_take_every_action(t: Trader) -> None:
    for action in Action:
        market = 3 if action in (Action.PLACE_ORDER, Action.FILL) else NO_MARKET
        assert actor(t.desk.check(t.owner, t.margin, action, market)) == Actor.OWNER


def test_frozen_accounts_may_only_deposit_cancel_settle(t: Trader) -> None:
    assert t.freeze().ok
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.PLACE_ORDER, Action.FILL):
        failed(t.desk.check(t.owner, t.margin, action, 3), E["AccountFrozen"])
    for action in (Action.DEPOSIT, Action.CANCEL_ORDER, Action.SETTLE):
        assert actor(t.desk.check(t.owner, t.margin, action, 3)) == Actor.OWNER
    assert t.unfreeze().ok
    assert actor(t.desk.check(t.owner, t.margin, Action.WITHDRAW)) == Actor.OWNER


def test_pauses_apply_to_check_action(t: Trader) -> None:
    risk = t.desk.holder(Role.RISK_MANAGER)
    assert t.desk.pause(risk, Operation.WITHDRAW.bit).ok
    failed(t.desk.check(t.owner, t.margin, Action.WITHDRAW), E["Paused"])
    failed(t.desk.check(t.owner, t.margin, Action.TRANSFER), E["Paused"])
    assert t.desk.pause(risk, Operation.PLACE_ORDER.bit, market=3).ok
    failed(t.desk.check(t.owner, t.margin, Action.PLACE_ORDER, 3, 1), E["Paused"])
    assert actor(t.desk.check(t.owner, t.margin, Action.PLACE_ORDER, 4, 1)) == Actor.OWNER
    assert actor(t.desk.check(t.owner, t.margin, Action.CANCEL_ORDER, 3)) == Actor.OWNER


def test_delegates_trade_but_never_withdraw(t: Trader) -> None:
    delegate = t.desk.chain.keypair()
    assert t.desk.send([t.desk.core.set_delegate(t.owner.pubkey(), t.margin, delegate.pubkey())], t.owner).ok
    assert actor(t.desk.check(delegate, t.margin, Action.PLACE_ORDER, 3, 10)) == Actor.DELEGATE
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.DEPOSIT):
        failed(t.desk.check(delegate, t.margin, action), E["DelegateNotPermitted"])


def test_strangers_and_unsigned_requests_are_refused(t: Trader) -> None:
    stranger = t.desk.chain.keypair()
    failed(t.desk.check(stranger, t.margin, Action.DEPOSIT), E["NotAuthorized"])
    ix = with_meta(t.desk.ix.check_action(t.owner.pubkey(), t.margin, Action.WITHDRAW), "signer", signer=False)
    failed(t.desk.send([ix]), E["MissingSigner"])
    ix = t.desk.ix.check_action(t.owner.pubkey(), t.margin, Action.WITHDRAW)
    data = bytearray(bytes(ix.data))
    data[8] = 7
    failed(t.desk.send([Instruction(ix.program_id, bytes(data), ix.accounts)], t.owner), E["UnknownAction"])


def test_check_action_refuses_fake_accounts(t: Trader) -> None:
    base = t.desk.ix.check_action(t.owner.pubkey(), t.margin, Action.WITHDRAW)
    real = t.desk.chain.account(t.margin)
    assert real is not None
    fake = Keypair().pubkey()
    t.desk.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, "margin_account", key=fake)], t.owner), E["WrongOwner"])
    failed(t.desk.send([with_meta(base, "margin_account", key=core.GLOBAL)], t.owner), E["WrongAccountSize"])
    config = t.desk.chain.account(CONFIG)
    assert config is not None
    t.desk.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, "config", key=fake)], t.owner), E["WrongAddress"])
    assert t.desk.send([oracle.OracleInstructions().initialize_feed(t.desk.admin.pubkey(), "SOL/USD", -6, 60, [t.desk.admin.pubkey()])]).ok
    failed(t.desk.send([with_meta(base, "config", key=oracle.feed_address("SOL/USD"))], t.owner), E["WrongAddress"])


class Sessions:
    """A trader with a session key allowed to place and cancel in market 3 up to 1,000,000."""

    def __init__(self, t: Trader) -> None:
        self.t = t
        self.key = t.desk.chain.keypair()
        assert t.desk.session(t.owner, self.key.pubkey(), markets=1 << 3, max_notional=1_000_000, expires_at=T0 + DAY).ok
        self.address = security.session_address(t.owner.pubkey(), self.key.pubkey())

    def check(self, action: Action = Action.PLACE_ORDER, market: int = 3, notional: int = 1_000, session: Pubkey | None = None,
              margin: Pubkey | None = None, signer: Keypair | None = None) -> TxResult:
        return self.t.desk.check(signer or self.key, margin or self.t.margin, action, market, notional, session or self.address)


@pytest.fixture
def s(t: Trader) -> Sessions:
    return Sessions(t)


def test_session_acts_within_its_scope(s: Sessions) -> None:
    assert actor(s.check()) == Actor.SESSION
    assert actor(s.check(notional=1_000_000)) == Actor.SESSION
    assert actor(s.check(Action.CANCEL_ORDER, market=9)) == Actor.SESSION
    assert actor(s.check(Action.FILL)) == Actor.SESSION
    failed(s.check(notional=1_000_001), E["SessionNotional"])
    failed(s.check(market=4), E["SessionMarket"])
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.DEPOSIT, Action.SETTLE):
        failed(s.check(action, market=NO_MARKET, notional=0), E["SessionScope"])
    # Without its Session account the key is nobody.
    failed(s.t.desk.check(s.key, s.t.margin, Action.PLACE_ORDER, 3, 1), E["NotAuthorized"])


def test_cancel_only_session(t: Trader) -> None:
    key = t.desk.chain.keypair()
    assert t.desk.session(t.owner, key.pubkey(), scopes=SCOPE_CANCEL).ok
    address = security.session_address(t.owner.pubkey(), key.pubkey())
    failed(t.desk.check(key, t.margin, Action.PLACE_ORDER, 3, 1, address), E["SessionScope"])
    assert actor(t.desk.check(key, t.margin, Action.CANCEL_ORDER, 3, 0, address)) == Actor.SESSION


def test_session_expires(s: Sessions) -> None:
    s.t.desk.chain.set_time(unix_timestamp=T0 + DAY - 1)
    assert actor(s.check()) == Actor.SESSION
    s.t.desk.chain.set_time(unix_timestamp=T0 + DAY)
    failed(s.check(), E["SessionExpired"])


@pytest.mark.parametrize("by_owner", [True, False])
def test_revoked_session_is_refused_immediately(s: Sessions, by_owner: bool) -> None:
    who = s.t.owner if by_owner else s.key
    assert s.t.desk.send([s.t.desk.ix.revoke_session(who.pubkey(), s.address)], who).ok
    failed(s.check(), E["SessionRevoked"])


def test_session_of_another_owner_or_key_is_refused(s: Sessions) -> None:
    desk = s.t.desk
    # The key's session is for the trader's accounts only: another wallet's margin account.
    other = desk.chain.keypair()
    other_margin = desk.margin_account(other)
    failed(s.check(margin=other_margin), E["SessionMismatch"])
    # Another session key presenting this session account.
    thief = desk.chain.keypair()
    failed(s.check(signer=thief), E["SessionMismatch"])
    # A session the other wallet created for the same key does not open the trader's account.
    assert desk.session(other, s.key.pubkey()).ok
    failed(s.check(session=security.session_address(other.pubkey(), s.key.pubkey())), E["SessionMismatch"])
    # A forged session (system-owned copy of the real bytes) and a config as session.
    fake = Keypair().pubkey()
    desk.chain.set_account(fake, Account(10**9, desk.raw(s.address), SYSTEM_PROGRAM))
    failed(s.check(session=fake), E["WrongOwner"])
    failed(s.check(session=CONFIG), E["WrongAccountSize"])


def test_session_respects_freeze_and_pause(s: Sessions) -> None:
    assert s.t.freeze().ok
    failed(s.check(), E["AccountFrozen"])
    assert actor(s.check(Action.CANCEL_ORDER)) == Actor.SESSION
    assert s.t.unfreeze().ok
    assert s.t.desk.pause(s.t.desk.admin, Operation.PLACE_ORDER.bit).ok
    failed(s.check(), E["Paused"])


def test_check_action_with_a_session_is_within_budget(s: Sessions) -> None:
    r = s.check()
    assert r.ok
    # Whole transaction: our instruction only (no compute-budget instruction added).
    assert r.cu <= 1_500, r.cu


def test_refused_actions_change_nothing(s: Sessions) -> None:
    before = {a: s.t.desk.raw(a) for a in (CONFIG, s.t.margin, s.address)}
    failed(s.check(notional=10**9), E["SessionNotional"])
    failed(s.t.desk.check(s.t.desk.chain.keypair(), s.t.margin, Action.WITHDRAW), E["NotAuthorized"])
    assert {a: s.t.desk.raw(a) for a in before} == before


# ---- the Python client over RPC (local validator) --------------------------------------------------

async def test_security_client_over_rpc() -> None:
    async with run_in_background(slot_ms=100, root=Path(__file__).resolve().parents[1]) as node:
        async with AsyncClient(node.rpc_url, commitment=Confirmed) as client, httpx.AsyncClient() as http:
            async def control(method: str, *params: object) -> Any:
                reply = (await http.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
                return reply["result"]

            wallet, owner = Keypair(), Keypair()
            for kp in (wallet, owner):
                await client.request_airdrop(kp.pubkey(), 10 * 10**9)
            provider = Provider(client, Wallet(wallet))
            sec, cc = security.SecurityClient(provider), core.CoreClient(provider)
            mint = Keypair()
            rent = (await client.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
            await cc.send(token.create_mint(wallet.pubkey(), mint.pubkey(), wallet.pubkey(), 6, rent), [mint])
            await sec.send([sec.ix.initialize(wallet.pubkey())])
            await cc.send([cc.ix.initialize(wallet.pubkey(), mint.pubkey())])
            margin = await cc.create(owner, 0)

            config = await sec.fetch_config()
            assert (config.super_admin, config.audit_seq, config.rate_limit) == (wallet.pubkey(), 1, security.RateLimit(0, 0))
            now = (await control("qd_getClock"))["unixTimestamp"]
            keys = [Keypair(), Keypair()]
            for i, key in enumerate(keys):
                await sec.send([sec.ix.create_session(owner.pubkey(), key.pubkey(), SCOPE_PLACE, 1 << 3, 5_000, now + 3_600 * (i + 1), 50_000)], [owner])
            sessions = await sec.sessions_of(owner.pubkey())
            assert sorted((s.session_key, s.expires_at) for s in sessions) == sorted((k.pubkey(), now + 3_600 * (i + 1)) for i, k in enumerate(keys))
            assert await sec.sessions_of(wallet.pubkey()) == []
            session = await sec.fetch_session(owner.pubkey(), keys[0].pubkey())
            assert session.address == security.session_address(owner.pubkey(), keys[0].pubkey()) and session.is_live(now)

            assert await sec.check_action(keys[0], margin, Action.PLACE_ORDER, 3, 5_000, session.address) == Actor.SESSION
            assert await sec.check_action(owner, margin, Action.WITHDRAW) == Actor.OWNER
            with pytest.raises(SimulationError) as refused:
                await sec.check_action(keys[0], margin, Action.WITHDRAW, session=session.address)
            assert f"custom program error: {hex(E['SessionScope'])}" in " ".join(refused.value.logs)


def test_audit_values_read_as_words(live: Desk) -> None:
    pause = audit(live.pause(live.admin, Operation.PLACE_ORDER.bit | Operation.FILL.bit, market=3))[0]
    assert security.describe_audit_value(AuditAction(pause.action), pause.value) == "PLACE_ORDER+FILL market 3"
    venue = audit(live.pause(live.admin, Operation.WITHDRAW.bit, paused=False))[0]
    assert security.describe_audit_value(AuditAction(venue.action), venue.value) == "WITHDRAW venue-wide"
    limit = audit(live.enact(Change.set_rate_limit(20, 2_500)))[0]
    assert security.describe_audit_value(AuditAction(limit.action), limit.value) == "burst 20, 2.5/slot"
    grant = audit(live.grant(Role.COMPLIANCE, Keypair().pubkey()))[0]
    assert security.describe_audit_value(AuditAction(grant.action), grant.value) == "COMPLIANCE"
