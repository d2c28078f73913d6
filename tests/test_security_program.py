"""qd-security in the real runtime (LiteSVM), with qd-core deployed for margin accounts and the
freeze CPI: every instruction's success path and error paths, and the attack classes (missing or
wrong signer, wrong owner, type cosplay, re-initialization, wrong PDA, duplicate accounts,
arbitrary CPI target, fake signer PDA, wrong config account), each leaving state unchanged."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from anchorpy import Provider, Wallet
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
from quantdesk.clients.security import ALL_SCOPES, AUTHORITY, CONFIG, NO_MARKET, SCOPE_CANCEL, SCOPE_PLACE, Action, Actor, AuditAction, Operation, Role

from program_support import failed, with_meta

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

    def init(self) -> TxResult:
        return self.send([self.ix.initialize(self.admin.pubkey())])

    def config(self) -> security.SecurityConfig:
        account = self.chain.account(CONFIG)
        assert account is not None
        return security.decode_config(bytes(account.data))

    def raw(self, address: Pubkey) -> bytes:
        account = self.chain.account(address)
        return bytes(account.data) if account else b""

    def grant(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        by = by or self.admin
        return self.send([self.ix.grant_role(by.pubkey(), role, holder)], by)

    def revoke(self, role: Role, holder: Pubkey, by: Keypair | None = None) -> TxResult:
        by = by or self.admin
        return self.send([self.ix.revoke_role(by.pubkey(), role, holder)], by)

    def pause(self, by: Keypair, operations: int, paused: bool = True, market: int = NO_MARKET) -> TxResult:
        return self.send([self.ix.set_pause(by.pubkey(), operations, paused, market)], by)

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
    assert (c.super_admin, c.pending_super_admin, c.version, c.audit_seq) == (d.admin.pubkey(), None, 1, 1)
    assert all(holders == [] for holders in c.roles.values())
    assert (c.global_pause, set(c.market_pause), c.rate_limit) == (0, {0}, security.RateLimit(0, 0))
    [event] = audit(r)
    assert (event.action, event.actor, event.target, event.seq, event.slot) == (AuditAction.INITIALIZE, d.admin.pubkey(), CONFIG, 1, d.chain.clock.slot)
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
    failed(d.send([with_meta(d.ix.initialize(other.pubkey()), 0, signer=False)]), E["MissingSigner"])
    base = d.ix.initialize(d.admin.pubkey())
    failed(d.send([with_meta(base, 1, key=Pubkey.find_program_address([b"other"], security.PROGRAM_ID)[0])]), E["WrongAddress"])
    failed(d.send([with_meta(base, 1, writable=False)]), E["NotWritable"])
    failed(d.send([with_meta(base, 2, key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    # The program account must be qd-security's own (the upgrade-authority check reads it).
    failed(d.send([with_meta(base, 3, key=oracle.PROGRAM_ID)]), E["WrongAddress"])
    assert d.chain.account(CONFIG) is None


def test_a_copy_of_the_program_at_another_address_refuses_to_run(d: Desk) -> None:
    impostor = d.chain.deploy("qd_security", Keypair().pubkey())
    ix = d.ix.initialize(d.admin.pubkey())
    failed(d.send([Instruction(impostor, ix.data, ix.accounts)]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(live: Desk) -> None:
    ix = live.ix.grant_role(live.admin.pubkey(), Role.ADMIN, Keypair().pubkey())
    data = bytes(ix.data)
    failed(live.send([Instruction(ix.program_id, data[:-1], ix.accounts)]), E["InvalidInstructionData"])
    failed(live.send([Instruction(ix.program_id, data + b"\0", ix.accounts)]), E["InvalidInstructionData"])
    failed(live.send([Instruction(ix.program_id, b"\x07" * 8, ix.accounts)]), E["InvalidInstruction"])
    failed(live.send([Instruction(ix.program_id, data, ix.accounts[:1])]), E["NotEnoughAccounts"])


# ---- super-admin hand-over -----------------------------------------------------------------------

def test_super_admin_hands_over_in_two_steps(live: Desk) -> None:
    new = live.chain.keypair()
    r = live.send([live.ix.propose_super_admin(live.admin.pubkey(), new.pubkey())])
    assert r.ok
    assert live.config().pending_super_admin == new.pubkey()
    [event] = audit(r)
    assert (event.action, event.subject, event.seq) == (AuditAction.PROPOSE_SUPER_ADMIN, new.pubkey(), 2)
    # Until the successor accepts, the old super-admin keeps every power.
    assert live.grant(Role.ADMIN, Keypair().pubkey()).ok
    # Nobody else can accept.
    impostor = live.chain.keypair()
    before = live.raw(CONFIG)
    failed(live.send([live.ix.accept_super_admin(impostor.pubkey())], impostor), E["NotPendingSuperAdmin"])
    failed(live.send([with_meta(live.ix.accept_super_admin(new.pubkey()), 0, signer=False)]), E["MissingSigner"])
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
    failed(live.send([live.ix.propose_super_admin(live.admin.pubkey(), live.admin.pubkey())]), E["NotSuperAdmin"])
    assert live.grant(Role.ADMIN, Keypair().pubkey(), by=new).ok
    # Accepting twice is impossible: the proposal is consumed.
    failed(live.send([live.ix.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])


def test_proposal_can_be_cancelled_and_only_the_super_admin_proposes(live: Desk) -> None:
    new = live.chain.keypair()
    admin = live.holder(Role.ADMIN)
    failed(live.send([live.ix.propose_super_admin(admin.pubkey(), admin.pubkey())], admin), E["NotSuperAdmin"])
    unsigned = with_meta(live.ix.propose_super_admin(live.admin.pubkey(), new.pubkey()), 0, signer=False)
    failed(live.send([unsigned], payer=new), E["MissingSigner"])
    failed(live.send([live.ix.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])  # none proposed
    assert live.send([live.ix.propose_super_admin(live.admin.pubkey(), new.pubkey())]).ok
    assert live.send([live.ix.propose_super_admin(live.admin.pubkey(), Pubkey.default())]).ok
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
    assert c.audit_seq == 5
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
    failed(live.send([with_meta(live.ix.grant_role(live.admin.pubkey(), Role.COMPLIANCE, stranger.pubkey()), 0, signer=False)], payer=stranger), E["MissingSigner"])
    failed(live.send([with_meta(live.ix.grant_role(live.admin.pubkey(), Role.ADMIN, stranger.pubkey()), 0, signer=False)], payer=stranger), E["MissingSigner"])
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
    ix = live.ix.grant_role(live.admin.pubkey(), Role.COMPLIANCE, Keypair().pubkey())
    data = bytearray(bytes(ix.data))
    data[8] = 4
    failed(live.send([Instruction(ix.program_id, bytes(data), ix.accounts)]), E["InvalidRole"])
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
    unsigned = with_meta(live.ix.set_pause(live.admin.pubkey(), 1, True), 0, signer=False)
    failed(live.send([unsigned], payer=others[-1]), E["MissingSigner"])
    assert live.raw(CONFIG) == before


@pytest.mark.parametrize(("market", "operations", "code"), [
    (64, 1, "InvalidMarket"), (NO_MARKET - 1, 1, "InvalidMarket"), (0, 0, "InvalidOperations"), (0, 0x80, "InvalidOperations"),
])
def test_pause_arguments_are_validated(live: Desk, market: int, operations: int, code: str) -> None:
    failed(live.pause(live.admin, operations, market=market), E[code])


def test_admin_sets_the_rate_limit(live: Desk) -> None:
    admin = live.holder(Role.ADMIN)
    r = live.send([live.ix.set_rate_limit(admin.pubkey(), 20, 250)], admin)
    assert r.ok
    assert live.config().rate_limit == security.RateLimit(20, 250)
    [event] = audit(r)
    assert (event.action, event.value) == (AuditAction.SET_RATE_LIMIT, 20 << 32 | 250)
    risk = live.holder(Role.RISK_MANAGER)
    failed(live.send([live.ix.set_rate_limit(risk.pubkey(), 1, 1)], risk), E["MissingRole"])
    failed(live.send([live.ix.set_rate_limit(admin.pubkey(), 5, 0)], admin), E["InvalidRateLimit"])
    failed(live.send([live.ix.set_rate_limit(admin.pubkey(), 0, 5)], admin), E["InvalidRateLimit"])
    assert live.send([live.ix.set_rate_limit(admin.pubkey(), 0, 0)], admin).ok
    assert live.config().rate_limit == security.RateLimit(0, 0)


# ---- the config account ------------------------------------------------------------------------

CONFIG_WRITERS: list[Callable[[Desk], Instruction]] = [
    lambda d: d.ix.propose_super_admin(d.admin.pubkey(), Keypair().pubkey()),
    lambda d: d.ix.grant_role(d.admin.pubkey(), Role.RISK_MANAGER, Keypair().pubkey()),
    lambda d: d.ix.set_pause(d.admin.pubkey(), 1, True),
    lambda d: d.ix.set_rate_limit(d.admin.pubkey(), 1, 1),
]


@pytest.mark.parametrize("make", CONFIG_WRITERS)
def test_config_writers_refuse_fake_configs(live: Desk, make: Callable[[Desk], Instruction]) -> None:
    real = live.chain.account(CONFIG)
    assert real is not None
    base = make(live)
    # A SecurityConfig-sized system account (same bytes, naming the attacker super-admin) elsewhere.
    fake = Keypair().pubkey()
    live.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(live.send([with_meta(base, 1, key=fake)]), E["WrongAddress"])
    # An account of another program (an oracle PriceFeed).
    assert live.send([oracle.OracleInstructions().initialize_feed(live.admin.pubkey(), "SOL/USD", -6, 60, [live.admin.pubkey()])]).ok
    failed(live.send([with_meta(base, 1, key=oracle.feed_address("SOL/USD"))]), E["WrongAddress"])
    failed(live.send([with_meta(base, 1, writable=False)]), E["NotWritable"])
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
    ix = with_meta(t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7), 0, signer=False)
    failed(t.desk.send([ix]), E["MissingSigner"])
    assert t.desk.raw(t.margin) == before
    assert t.freeze(by=t.desk.admin).ok  # the super-admin holds every role


def test_freeze_refuses_fake_margin_accounts(t: Trader) -> None:
    real = t.desk.chain.account(t.margin)
    assert real is not None
    base = t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7)
    fake = Keypair().pubkey()
    t.desk.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, 2, key=fake)], t.compliance), E["WrongOwner"])
    t.desk.chain.set_account(fake, Account(real.lamports, bytes(real.data), security.PROGRAM_ID))
    failed(t.desk.send([with_meta(base, 2, key=fake)], t.compliance), E["WrongOwner"])
    # Another qd-core account type (the GlobalConfig) as the margin account.
    failed(t.desk.send([with_meta(base, 2, key=core.GLOBAL)], t.compliance), E["WrongAccountSize"])
    failed(t.desk.send([with_meta(base, 2, writable=False)], t.compliance), E["NotWritable"])
    assert t.desk.raw(t.margin) == bytes(real.data)


def test_freeze_refuses_an_arbitrary_cpi_target_and_a_fake_signer_pda(t: Trader) -> None:
    base = t.desk.ix.freeze_account(t.compliance.pubkey(), t.margin, 7)
    before = t.desk.raw(t.margin)
    # An attacker's program (any executable) in place of qd-core would get our PDA's signature.
    attacker = t.desk.chain.deploy("qd_test_runtime", Keypair().pubkey())
    failed(t.desk.send([with_meta(base, 4, key=attacker)], t.compliance), E["WrongProgram"])
    failed(t.desk.send([with_meta(base, 4, key=oracle.PROGRAM_ID)], t.compliance), E["WrongProgram"])
    # Another key as the security authority (a signer the attacker controls, or a wrong PDA).
    failed(t.desk.send([with_meta(base, 3, key=t.compliance.pubkey())], t.compliance), E["WrongAddress"])
    failed(t.desk.send([with_meta(base, 3, key=CONFIG)], t.compliance), E["WrongAddress"])
    # The config account of another program, or a duplicate of the margin account.
    failed(t.desk.send([with_meta(base, 1, key=core.GLOBAL)], t.compliance), E["WrongAddress"])
    failed(t.desk.send([with_meta(base, 1, key=t.margin)], t.compliance), E["WrongAddress"])
    config = t.desk.chain.account(CONFIG)
    assert config is not None
    fake = Keypair().pubkey()
    t.desk.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, 1, key=fake)], t.compliance), E["WrongAddress"])
    assert t.desk.raw(t.margin) == before


def test_users_cannot_call_core_set_frozen_directly(t: Trader) -> None:
    before = t.desk.raw(t.margin)
    # A user signing as "security authority" with its own key.
    ix = t.desk.core.set_frozen(t.owner.pubkey(), t.margin, False, 0)
    failed(t.desk.send([ix], t.owner), CORE_E["NotSecurityAuthority"])
    # The real PDA cannot be made to sign outside qd-security's invoke_signed.
    ix = with_meta(t.desk.core.set_frozen(AUTHORITY, t.margin, True, 1), 0, signer=False)
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
    failed(live.send([with_meta(base, 0, signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(base, 1, writable=False)], owner), E["NotWritable"])
    failed(live.send([with_meta(base, 2, key=oracle.PROGRAM_ID)], owner), E["WrongProgram"])
    failed(live.send([with_meta(base, 1, key=owner.pubkey())], owner), E["DuplicateAccount"])
    # The PDA of another key, another owner, or a non-canonical bump.
    failed(live.send([with_meta(base, 1, key=security.session_address(owner.pubkey(), Keypair().pubkey()))], owner), E["WrongAddress"])
    failed(live.send([with_meta(base, 1, key=security.session_address(live.admin.pubkey(), key))], owner), E["WrongAddress"])
    seeds = [security.SESSION_SEED, bytes(owner.pubkey()), bytes(key)]
    _, bump = Pubkey.find_program_address(seeds, security.PROGRAM_ID)
    for other in range(bump - 1, -1, -1):
        try:
            address = Pubkey.create_program_address([*seeds, bytes([other])], security.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        failed(live.send([with_meta(base, 1, key=address)], owner), E["WrongAddress"])
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
    failed(live.send([with_meta(live.ix.revoke_session(owner.pubkey(), address), 0, signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(live.ix.revoke_session(owner.pubkey(), address), 1, writable=False)], owner), E["NotWritable"])
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
    failed(live.send([with_meta(live.ix.close_session(owner.pubkey(), address), 0, signer=False)]), E["MissingSigner"])
    failed(live.send([with_meta(live.ix.close_session(owner.pubkey(), address), 0, writable=False)], owner), E["NotWritable"])
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
    ix = with_meta(t.desk.ix.check_action(t.owner.pubkey(), t.margin, Action.WITHDRAW), 0, signer=False)
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
    failed(t.desk.send([with_meta(base, 2, key=fake)], t.owner), E["WrongOwner"])
    failed(t.desk.send([with_meta(base, 2, key=core.GLOBAL)], t.owner), E["WrongAccountSize"])
    config = t.desk.chain.account(CONFIG)
    assert config is not None
    t.desk.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(t.desk.send([with_meta(base, 1, key=fake)], t.owner), E["WrongAddress"])
    assert t.desk.send([oracle.OracleInstructions().initialize_feed(t.desk.admin.pubkey(), "SOL/USD", -6, 60, [t.desk.admin.pubkey()])]).ok
    failed(t.desk.send([with_meta(base, 1, key=oracle.feed_address("SOL/USD"))], t.owner), E["WrongAddress"])


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
    limit = audit(live.send([live.ix.set_rate_limit(live.admin.pubkey(), 20, 2_500)], live.admin))[0]
    assert security.describe_audit_value(AuditAction(limit.action), limit.value) == "burst 20, 2.5/slot"
    grant = audit(live.grant(Role.COMPLIANCE, Keypair().pubkey()))[0]
    assert security.describe_audit_value(AuditAction(grant.action), grant.value) == "COMPLIANCE"
