"""qd-security in the real runtime (LiteSVM), with qd-core deployed for margin accounts and the
freeze CPI: every instruction's success path and error paths, and the attack classes (missing or
wrong signer, wrong owner, type cosplay, re-initialization, wrong PDA, duplicate accounts,
arbitrary CPI target, fake signer PDA, wrong config account), each leaving state unchanged. Role,
unpause, rate-limit and super-admin changes go through the timelock (`security.enact`); its own
attacks (early, repeated or cancelled execution, outsiders, short approvals, durable nonces) are
in the timelock section."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from anchorpy import Context, Provider, Wallet
from quantdesk.clients import core, idl, oracle, security, token
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.security import (
    ALL_SCOPES,
    AUTHORITY,
    CONFIG,
    LOCAL_TIMELOCK_DELAY,
    NO_MARKET,
    SCOPE_CANCEL,
    SCOPE_PLACE,
    Action,
    Actor,
    AuditAction,
    Change,
    Operation,
    ProposalAction,
    ProposalState,
    Role,
)
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from quantdesk.chain import TxResult
from quantdesk.localnet import run_in_background
from quantdesk.world import DAY, T0, Council, Nonce, Trader, Venue, account_meta, failed, with_meta

E = idl.error_codes(security.NAME)
CORE_E = idl.error_codes(core.NAME)
SYSTEM_PROGRAM = Pubkey.default()


def audit(result: TxResult) -> list[object]:
    return [e.data for e in security.parse_events(result.logs) if e.name == "AuditEvent"]


@pytest.fixture
def fresh_venue() -> Venue:
    """qd-core initialized, qd-security deployed but not initialized (the payer, its deployer,
    becomes super-admin by initialize)."""
    return Venue(init_security=False, quote_params=None, markets=())


@pytest.fixture
def venue(fresh_venue: Venue) -> Venue:
    """qd-security initialized with the local timelock delay."""
    assert fresh_venue.init_security().ok
    return fresh_venue


@pytest.fixture
def compliance(venue: Venue) -> Keypair:
    """A compliance officer (COMPLIANCE granted through the timelock)."""
    return venue.holder(Role.COMPLIANCE)


@pytest.fixture
def trader(venue: Venue, compliance: Keypair) -> Trader:
    """A trader's margin account ("main") on the venue."""
    owner = venue.chain.keypair()
    return Trader(owner, venue.margin_account(owner, 0, "main", balances=False))


# ---- initialize ------------------------------------------------------------------------------

def test_initialize_creates_the_config_with_the_signer_as_super_admin(fresh_venue: Venue) -> None:
    r = fresh_venue.init_security()
    assert r.ok, r.logs
    account = fresh_venue.chain.account(CONFIG)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 736
    c = fresh_venue.security_config()
    assert (c.super_admin, c.pending_super_admin, c.version, c.audit_seq) == (fresh_venue.admin.pubkey(), None, 2, 1)
    # LiteSVM loads programs with the immutable loader: the short delay is allowed, minimum 0.
    assert (c.timelock_delay, c.min_timelock_delay, c.proposal_count) == (LOCAL_TIMELOCK_DELAY, 0, 0)
    assert all(holders == [] for holders in c.roles.values())
    assert (c.global_pause, set(c.market_pause), c.rate_limit) == (0, {0}, security.RateLimit(0, 0))
    [event] = audit(r)
    assert (event.action, event.actor, event.target, event.seq, event.slot, event.value) == (
        AuditAction.INITIALIZE, fresh_venue.admin.pubkey(), CONFIG, 1, fresh_venue.chain.clock.slot, LOCAL_TIMELOCK_DELAY)
    with pytest.raises(ValueError):
        security.decode_session(CONFIG, bytes(account.data))  # the decoders check the account type


def test_initialize_twice_is_refused(venue: Venue) -> None:
    before = venue.raw(CONFIG)
    failed(venue.init_security(), E["AlreadyInitialized"])
    stranger = venue.chain.keypair()
    failed(venue.send([venue.security.initialize(stranger.pubkey())], stranger), E["AlreadyInitialized"])
    assert venue.raw(CONFIG) == before


def test_initialize_succeeds_on_a_prefunded_config_address(fresh_venue: Venue) -> None:
    # Someone sends lamports to the config address to block its creation: it is topped up instead.
    fresh_venue.chain.svm.airdrop(CONFIG, 1_000)
    assert fresh_venue.init_security().ok
    assert fresh_venue.security_config().super_admin == fresh_venue.admin.pubkey()


def test_initialize_account_checks(fresh_venue: Venue) -> None:
    other = fresh_venue.chain.keypair()
    failed(fresh_venue.send([with_meta(fresh_venue.security.initialize(other.pubkey()), "super_admin", signer=False)]), E["MissingSigner"])
    base = fresh_venue.security.initialize(fresh_venue.admin.pubkey())
    failed(fresh_venue.send([with_meta(base, "config", key=Pubkey.find_program_address([b"other"], security.PROGRAM_ID)[0])]), E["WrongAddress"])
    failed(fresh_venue.send([with_meta(base, "config", writable=False)]), E["NotWritable"])
    failed(fresh_venue.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    # The program account must be qd-security's own (the upgrade-authority check reads it).
    failed(fresh_venue.send([with_meta(base, "program", key=oracle.PROGRAM_ID)]), E["WrongAddress"])
    assert fresh_venue.chain.account(CONFIG) is None


def test_a_copy_of_the_program_at_another_address_refuses_to_run(fresh_venue: Venue) -> None:
    impostor = fresh_venue.chain.deploy("qd_security", Keypair().pubkey())
    ix = fresh_venue.security.initialize(fresh_venue.admin.pubkey())
    failed(fresh_venue.send([Instruction(impostor, ix.data, ix.accounts)]), E["WrongProgram"])


def test_malformed_instruction_data_is_refused(venue: Venue) -> None:
    ix = venue.security.propose(venue.admin.pubkey(), 0, Change.grant_role(Role.ADMIN, Keypair().pubkey()))
    data = bytes(ix.data)
    failed(venue.send([Instruction(ix.program_id, data[:-1], ix.accounts)]), E["InvalidInstructionData"])
    failed(venue.send([Instruction(ix.program_id, data + b"\0", ix.accounts)]), E["InvalidInstructionData"])
    failed(venue.send([Instruction(ix.program_id, b"\x07" * 8, ix.accounts)]), E["InvalidInstruction"])
    failed(venue.send([Instruction(ix.program_id, data, ix.accounts[:1])]), E["NotEnoughAccounts"])


# ---- super-admin hand-over -----------------------------------------------------------------------

def test_super_admin_hands_over_in_two_steps(venue: Venue) -> None:
    new = venue.chain.keypair()
    r = venue.enact(Change.propose_super_admin(new.pubkey()))
    assert r.ok, r.logs
    assert venue.security_config().pending_super_admin == new.pubkey()
    [event] = audit(r)
    assert (event.action, event.actor, event.subject, event.seq) == (AuditAction.PROPOSE_SUPER_ADMIN, venue.admin.pubkey(), new.pubkey(), 2)
    # Until the successor accepts, the old super-admin keeps every power.
    assert venue.grant(Role.ADMIN, Keypair().pubkey()).ok
    # Nobody else can accept.
    impostor = venue.chain.keypair()
    before = venue.raw(CONFIG)
    failed(venue.send([venue.security.accept_super_admin(impostor.pubkey())], impostor), E["NotPendingSuperAdmin"])
    failed(venue.send([with_meta(venue.security.accept_super_admin(new.pubkey()), "new_super_admin", signer=False)]), E["MissingSigner"])
    assert venue.raw(CONFIG) == before
    r = venue.send([venue.security.accept_super_admin(new.pubkey())], new)
    assert r.ok
    c = venue.security_config()
    assert (c.super_admin, c.pending_super_admin) == (new.pubkey(), None)
    [event] = audit(r)
    assert (event.action, event.actor, event.subject, event.seq) == (AuditAction.ACCEPT_SUPER_ADMIN, new.pubkey(), new.pubkey(), 4)
    # The old key has lost power; the new one has it.
    failed(venue.grant(Role.ADMIN, Keypair().pubkey()), E["NotSuperAdmin"])
    failed(venue.grant(Role.RISK_MANAGER, Keypair().pubkey()), E["MissingRole"])
    failed(venue.enact(Change.propose_super_admin(venue.admin.pubkey())), E["NotSuperAdmin"])
    assert venue.grant(Role.ADMIN, Keypair().pubkey(), by=new).ok
    # Accepting twice is impossible: the proposal is consumed.
    failed(venue.send([venue.security.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])


def test_hand_over_can_be_withdrawn_and_only_the_super_admin_proposes_it(venue: Venue) -> None:
    new = venue.chain.keypair()
    admin = venue.holder(Role.ADMIN)
    failed(venue.enact(Change.propose_super_admin(admin.pubkey()), by=admin), E["NotSuperAdmin"])
    unsigned = with_meta(venue.security.propose(venue.admin.pubkey(), venue.security_config().proposal_count, Change.propose_super_admin(new.pubkey())), "proposer", signer=False)
    failed(venue.send([unsigned], payer=new), E["MissingSigner"])
    failed(venue.send([venue.security.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])  # none proposed
    assert venue.enact(Change.propose_super_admin(new.pubkey())).ok
    assert venue.enact(Change.propose_super_admin(Pubkey.default())).ok
    assert venue.security_config().pending_super_admin is None
    failed(venue.send([venue.security.accept_super_admin(new.pubkey())], new), E["NotPendingSuperAdmin"])
    assert venue.security_config().super_admin == venue.admin.pubkey()


# ---- roles -------------------------------------------------------------------------------------

def test_super_admin_grants_admin_and_admin_grants_the_other_roles(venue: Venue) -> None:
    admin = venue.chain.keypair()
    r = venue.grant(Role.ADMIN, admin.pubkey())
    assert r.ok
    [event] = audit(r)
    assert (event.action, event.subject, event.value, event.seq) == (AuditAction.GRANT_ROLE, admin.pubkey(), Role.ADMIN, 2)
    risk, comp, orc = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    for role, key in ((Role.RISK_MANAGER, risk), (Role.COMPLIANCE, comp), (Role.ORACLE_ADMIN, orc)):
        assert venue.grant(role, key, by=admin).ok
    c = venue.security_config()
    assert c.roles == {Role.ADMIN: [admin.pubkey()], Role.RISK_MANAGER: [risk], Role.COMPLIANCE: [comp], Role.ORACLE_ADMIN: [orc]}
    assert (c.audit_seq, c.proposal_count) == (5, 4)
    assert venue.revoke(Role.ORACLE_ADMIN, orc, by=admin).ok
    assert venue.security_config().roles[Role.ORACLE_ADMIN] == []


def test_an_admin_cannot_grant_or_revoke_admin(venue: Venue) -> None:
    admin, peer = venue.holder(Role.ADMIN), venue.holder(Role.ADMIN)
    before = venue.raw(CONFIG)
    failed(venue.grant(Role.ADMIN, Keypair().pubkey(), by=admin), E["NotSuperAdmin"])
    failed(venue.grant(Role.ADMIN, admin.pubkey(), by=admin), E["NotSuperAdmin"])
    failed(venue.revoke(Role.ADMIN, peer.pubkey(), by=admin), E["NotSuperAdmin"])
    assert venue.raw(CONFIG) == before


def test_other_roles_and_strangers_cannot_manage_roles(venue: Venue) -> None:
    risk = venue.holder(Role.RISK_MANAGER)
    comp = venue.holder(Role.COMPLIANCE)
    stranger = venue.chain.keypair()
    before = venue.raw(CONFIG)
    for who in (risk, comp, stranger):
        failed(venue.grant(Role.COMPLIANCE, who.pubkey(), by=who), E["MissingRole"])
        failed(venue.revoke(Role.RISK_MANAGER, risk.pubkey(), by=who), E["MissingRole"])
    for role in (Role.COMPLIANCE, Role.ADMIN):
        ix = venue.security.propose(venue.admin.pubkey(), 0, Change.grant_role(role, stranger.pubkey()))
        failed(venue.send([with_meta(ix, "proposer", signer=False)], payer=stranger), E["MissingSigner"])
    assert venue.raw(CONFIG) == before


def test_roles_are_bounded_and_revoke_keeps_rows_compact(venue: Venue) -> None:
    keys = [Keypair().pubkey() for _ in range(5)]
    for k in keys[:4]:
        assert venue.grant(Role.RISK_MANAGER, k).ok
    before = venue.raw(CONFIG)
    failed(venue.grant(Role.RISK_MANAGER, keys[4]), E["RoleFull"])
    failed(venue.grant(Role.RISK_MANAGER, keys[0]), E["AlreadyHasRole"])
    failed(venue.revoke(Role.RISK_MANAGER, keys[4]), E["NotRoleHolder"])
    failed(venue.revoke(Role.COMPLIANCE, keys[0]), E["NotRoleHolder"])
    assert venue.raw(CONFIG) == before
    r = venue.revoke(Role.RISK_MANAGER, keys[1])
    assert r.ok
    [event] = audit(r)
    assert (event.action, event.subject, event.value) == (AuditAction.REVOKE_ROLE, keys[1], Role.RISK_MANAGER)
    assert venue.security_config().roles[Role.RISK_MANAGER] == [keys[0], keys[3], keys[2]]  # swap-remove
    row = 80 + Role.RISK_MANAGER * 4 * 32
    assert venue.raw(CONFIG)[row + 3 * 32: row + 4 * 32] == bytes(32), "the freed slot is zeroed"
    assert venue.grant(Role.RISK_MANAGER, keys[4]).ok
    assert venue.security_config().roles[Role.RISK_MANAGER] == [keys[0], keys[3], keys[2], keys[4]]


def test_role_arguments_are_validated(venue: Venue) -> None:
    change = bytearray(Change.grant_role(Role.COMPLIANCE, Keypair().pubkey()))
    change[1] = 4
    failed(venue.enact(bytes(change)), E["InvalidRole"])
    failed(venue.enact(b"\x09"), E["InvalidChange"])
    failed(venue.grant(Role.COMPLIANCE, Pubkey.default()), E["InvalidHolder"])
    failed(venue.revoke(Role.COMPLIANCE, Pubkey.default()), E["InvalidHolder"])


def test_a_revoked_admin_loses_its_power(venue: Venue) -> None:
    admin = venue.holder(Role.ADMIN)
    assert venue.revoke(Role.ADMIN, admin.pubkey()).ok
    failed(venue.grant(Role.COMPLIANCE, Keypair().pubkey(), by=admin), E["MissingRole"])
    failed(venue.pause(admin, Operation.WITHDRAW.bit, paused=False), E["MissingRole"])


# ---- pauses and rate limit -----------------------------------------------------------------------

def test_risk_manager_pauses_but_cannot_unpause(venue: Venue) -> None:
    risk = venue.holder(Role.RISK_MANAGER)
    ops = security.mask([Operation.WITHDRAW, Operation.PLACE_ORDER])
    r = venue.pause(risk, ops)
    assert r.ok
    c = venue.security_config()
    assert c.global_pause == ops and c.is_paused(Operation.WITHDRAW) and not c.is_paused(Operation.DEPOSIT)
    [event] = audit(r)
    assert (event.action, event.actor, event.value, event.target) == (AuditAction.PAUSE, risk.pubkey(), ops | NO_MARKET << 8, CONFIG)
    before = venue.raw(CONFIG)
    failed(venue.pause(risk, Operation.WITHDRAW.bit, paused=False), E["MissingRole"])
    assert venue.raw(CONFIG) == before
    admin = venue.holder(Role.ADMIN)
    r = venue.pause(admin, Operation.WITHDRAW.bit, paused=False)
    assert r.ok
    assert venue.security_config().global_pause == Operation.PLACE_ORDER.bit
    assert audit(r)[0].action == AuditAction.UNPAUSE


def test_per_market_pauses(venue: Venue) -> None:
    risk = venue.holder(Role.RISK_MANAGER)
    r = venue.pause(risk, Operation.FILL.bit, market=63)
    assert r.ok
    assert audit(r)[0].value == Operation.FILL.bit | 63 << 8
    c = venue.security_config()
    assert c.market_pause[63] == Operation.FILL.bit and c.global_pause == 0
    assert c.is_paused(Operation.FILL, 63) and not c.is_paused(Operation.FILL, 62)
    # The super-admin holds every role: it pauses and unpauses.
    assert venue.pause(venue.admin, Operation.FILL.bit, market=5).ok
    assert venue.pause(venue.admin, Operation.FILL.bit, paused=False, market=63).ok
    assert venue.security_config().market_pause[63] == 0 and venue.security_config().market_pause[5] == Operation.FILL.bit


def test_pausing_needs_risk_manager_or_admin(venue: Venue) -> None:
    others = [venue.holder(Role.COMPLIANCE), venue.holder(Role.ORACLE_ADMIN), venue.chain.keypair()]
    before = venue.raw(CONFIG)
    for who in others:
        failed(venue.pause(who, Operation.DEPOSIT.bit), E["MissingRole"])
    unsigned = with_meta(venue.security.set_pause(venue.admin.pubkey(), 1, True), "authority", signer=False)
    failed(venue.send([unsigned], payer=others[-1]), E["MissingSigner"])
    assert venue.raw(CONFIG) == before


@pytest.mark.parametrize(("market", "operations", "code"), [
    (64, 1, "InvalidMarket"), (NO_MARKET - 1, 1, "InvalidMarket"), (0, 0, "InvalidOperations"), (0, 0x80, "InvalidOperations"),
])
def test_pause_arguments_are_validated(venue: Venue, market: int, operations: int, code: str) -> None:
    failed(venue.pause(venue.admin, operations, market=market), E[code])


def test_admin_sets_the_rate_limit(venue: Venue) -> None:
    admin = venue.holder(Role.ADMIN)
    r = venue.enact(Change.set_rate_limit(20, 250), by=admin)
    assert r.ok
    assert venue.security_config().rate_limit == security.RateLimit(20, 250)
    [event] = audit(r)
    assert (event.action, event.actor, event.value) == (AuditAction.SET_RATE_LIMIT, admin.pubkey(), 20 << 32 | 250)
    risk = venue.holder(Role.RISK_MANAGER)
    failed(venue.enact(Change.set_rate_limit(1, 1), by=risk), E["MissingRole"])
    failed(venue.enact(Change.set_rate_limit(5, 0), by=admin), E["InvalidRateLimit"])
    failed(venue.enact(Change.set_rate_limit(0, 5), by=admin), E["InvalidRateLimit"])
    assert venue.enact(Change.set_rate_limit(0, 0), by=admin).ok
    assert venue.security_config().rate_limit == security.RateLimit(0, 0)


# ---- the config account ------------------------------------------------------------------------

CONFIG_WRITERS: list[Callable[[Venue], Instruction]] = [
    lambda v: v.security.propose(v.admin.pubkey(), v.security_config().proposal_count, Change.propose_super_admin(Keypair().pubkey())),
    lambda v: v.security.propose(v.admin.pubkey(), v.security_config().proposal_count, Change.grant_role(Role.RISK_MANAGER, Keypair().pubkey())),
    lambda v: v.security.set_pause(v.admin.pubkey(), 1, True),
    lambda v: v.security.accept_super_admin(v.admin.pubkey()),
]


@pytest.mark.parametrize("make", CONFIG_WRITERS)
def test_config_writers_refuse_fake_configs(venue: Venue, make: Callable[[Venue], Instruction]) -> None:
    real = venue.chain.account(CONFIG)
    assert real is not None
    base = make(venue)
    # A SecurityConfig-sized system account (same bytes, naming the attacker super-admin) elsewhere.
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(venue.send([with_meta(base, "config", key=fake)]), E["WrongAddress"])
    # An account of another program (an oracle PriceFeed).
    assert venue.send([oracle.OracleInstructions().initialize_feed(venue.admin.pubkey(), "SOL/USD", -6, 60, [venue.admin.pubkey()])]).ok
    failed(venue.send([with_meta(base, "config", key=oracle.feed_address("SOL/USD"))]), E["WrongAddress"])
    failed(venue.send([with_meta(base, "config", writable=False)]), E["NotWritable"])
    assert venue.raw(CONFIG) == bytes(real.data)


def test_the_config_address_is_checked_for_owner_and_type(venue: Venue) -> None:
    real = venue.chain.account(CONFIG)
    assert real is not None
    ix = venue.security.set_pause(venue.admin.pubkey(), 1, True)
    # At the right address but owned by the System program (as if forged there).
    venue.chain.set_account(CONFIG, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(venue.send([ix]), E["WrongOwner"])
    # Owned by qd-security with another account type's discriminator (type cosplay).
    venue.chain.set_account(CONFIG, Account(real.lamports, idl.discriminator("account", "Session") + bytes(real.data)[8:], security.PROGRAM_ID))
    failed(venue.send([ix]), E["WrongDiscriminator"])
    venue.chain.set_account(CONFIG, Account(real.lamports, bytes(real.data)[:200], security.PROGRAM_ID))
    failed(venue.send([ix]), E["WrongAccountSize"])


# ---- the timelock ------------------------------------------------------------------------------

def test_a_role_grant_waits_out_the_delay(venue: Venue) -> None:
    risk = Keypair().pubkey()
    r, address = venue.propose(Change.grant_role(Role.RISK_MANAGER, risk))
    assert r.ok, r.logs
    p = venue.proposal(address)
    assert (p.id, p.state, p.authority, p.proposer, p.target_program, p.created_at, p.eta, p.threshold) == (
        0, ProposalState.PENDING, Role.ADMIN, venue.admin.pubkey(), security.PROGRAM_ID, T0, T0 + LOCAL_TIMELOCK_DELAY, 0)
    assert p.data == Change.grant_role(Role.RISK_MANAGER, risk)
    [event] = security.parse_events(r.logs)
    assert (event.name, event.data.action, event.data.id, event.data.by, event.data.eta) == (
        "ProposalEvent", ProposalAction.CREATED, 0, venue.admin.pubkey(), T0 + LOCAL_TIMELOCK_DELAY)
    # Before the eta: refused, nothing changes; one second before is still too early.
    before = {a: venue.raw(a) for a in (CONFIG, address)}
    failed(venue.execute(address), E["TimelockNotReady"])
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY - 1)
    failed(venue.execute(address), E["TimelockNotReady"])
    assert {a: venue.raw(a) for a in before} == before
    assert not venue.security_config().has_role(Role.RISK_MANAGER, risk)
    venue.chain.advance(seconds=1)
    stranger = venue.chain.keypair()  # execution is permissionless: any fee payer
    r = venue.send([venue.security.execute_proposal(address)], payer=stranger)
    assert r.ok, r.logs
    assert venue.security_config().roles[Role.RISK_MANAGER] == [risk]
    [grant] = audit(r)
    assert (grant.action, grant.actor, grant.subject, grant.value) == (AuditAction.GRANT_ROLE, venue.admin.pubkey(), risk, Role.RISK_MANAGER)
    assert venue.proposal(address).state == ProposalState.EXECUTED
    # Executed twice: refused by name, nothing changes.
    before = {a: venue.raw(a) for a in (CONFIG, address)}
    failed(venue.execute(address), E["ProposalAlreadyExecuted"])
    assert {a: venue.raw(a) for a in before} == before


def test_a_cancelled_proposal_never_executes(venue: Venue) -> None:
    admin, stranger = venue.holder(Role.ADMIN), venue.chain.keypair()
    r, address = venue.propose(Change.grant_role(Role.COMPLIANCE, stranger.pubkey()), by=admin)
    assert r.ok
    before = venue.raw(address)
    for who in (stranger, venue.holder(Role.RISK_MANAGER)):
        failed(venue.send([venue.security.cancel_proposal(who.pubkey(), address)], who), E["NotCanceller"])
    failed(venue.send([with_meta(venue.security.cancel_proposal(admin.pubkey(), address), "authority", signer=False)]), E["MissingSigner"])
    assert venue.raw(address) == before
    r = venue.send([venue.security.cancel_proposal(admin.pubkey(), address)], admin)  # the proposer
    assert r.ok
    [event] = security.parse_events(r.logs)
    assert (event.data.action, event.data.by) == (ProposalAction.CANCELLED, admin.pubkey())
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    before = {a: venue.raw(a) for a in (CONFIG, address)}
    failed(venue.execute(address), E["ProposalCancelled"])
    failed(venue.send([venue.security.cancel_proposal(admin.pubkey(), address)], admin), E["ProposalCancelled"])
    assert {a: venue.raw(a) for a in before} == before
    assert not venue.security_config().has_role(Role.COMPLIANCE, stranger.pubkey())


@pytest.mark.parametrize("canceller", ["other admin", "super-admin"])
def test_any_admin_or_the_super_admin_cancels(venue: Venue, canceller: str) -> None:
    admin = venue.holder(Role.ADMIN)
    who = venue.holder(Role.ADMIN) if canceller == "other admin" else venue.admin
    r, address = venue.propose(Change.set_rate_limit(1, 1), by=admin)
    assert r.ok
    assert venue.send([venue.security.cancel_proposal(who.pubkey(), address)], who).ok
    assert venue.proposal(address).state == ProposalState.CANCELLED


def test_finished_proposals_close_and_return_their_rent_to_the_proposer(venue: Venue) -> None:
    """A pending proposal cannot be closed (that would cancel it without a canceller's key), nor
    its rent sent elsewhere; once executed or cancelled anyone closes it and the proposer gets
    the rent back. Its address is never proposed again (ids only grow)."""
    admin = venue.holder(Role.ADMIN)
    r, pending = venue.propose(Change.set_rate_limit(3, 3), by=admin)
    assert r.ok
    before = venue.raw(pending)
    failed(venue.send([venue.security.close_proposal(pending, admin.pubkey())]), E["ProposalPending"])
    assert venue.send([venue.security.cancel_proposal(admin.pubkey(), pending)], admin).ok
    failed(venue.send([venue.security.close_proposal(pending, venue.chain.keypair().pubkey())]), E["NotProposer"])
    assert venue.raw(pending) != before  # cancelled, still there
    rent, lamports = venue.chain.lamports(pending), venue.chain.lamports(admin.pubkey())
    assert venue.send([venue.security.close_proposal(pending, admin.pubkey())]).ok
    assert venue.chain.account(pending) is None or venue.chain.lamports(pending) == 0
    assert venue.chain.lamports(admin.pubkey()) == lamports + rent
    assert venue.security_config().proposal_count > int.from_bytes(before[24:32], "little")


def test_outsiders_cannot_propose(venue: Venue) -> None:
    risk, stranger = venue.holder(Role.RISK_MANAGER), venue.chain.keypair()
    before = venue.raw(CONFIG)
    for who in (risk, stranger):
        r, address = venue.propose(Change.grant_role(Role.RISK_MANAGER, who.pubkey()), by=who)
        failed(r, E["MissingRole"])
        failed(venue.propose(Change.unpause(Operation.FILL.bit), by=who)[0], E["MissingRole"])
        failed(venue.propose(Change.set_timelock_delay(0), by=who)[0], E["NotSuperAdmin"])
        assert venue.chain.account(address) is None
    # An ADMIN proposes ADMIN-level changes only.
    admin = venue.holder(Role.ADMIN)
    before = venue.raw(CONFIG)
    for change in (Change.grant_role(Role.ADMIN, stranger.pubkey()), Change.propose_super_admin(admin.pubkey()), Change.set_timelock_delay(0)):
        failed(venue.propose(change, by=admin)[0], E["NotSuperAdmin"])
    assert venue.raw(CONFIG) == before


def test_proposal_account_checks(venue: Venue) -> None:
    count = venue.security_config().proposal_count
    base = venue.security.propose(venue.admin.pubkey(), count, Change.set_rate_limit(1, 1))
    # The PDA of another id, a proposal address that is not the next one, the config itself.
    failed(venue.send([with_meta(base, "proposal", key=security.proposal_address(count + 1))]), E["WrongAddress"])
    failed(venue.send([with_meta(base, "proposal", key=Keypair().pubkey())]), E["WrongAddress"])
    failed(venue.send([with_meta(base, "proposal", key=CONFIG)]), E["DuplicateAccount"])
    failed(venue.send([with_meta(base, "proposal", writable=False)]), E["NotWritable"])
    failed(venue.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)]), E["WrongProgram"])
    failed(venue.send([with_meta(base, "instructions", key=security.AUTHORITY)]), E["WrongAddress"])  # not the Instructions sysvar
    # Another program as the target: only qd-security's own changes for now.
    ix = venue.security.program.instruction["propose"](oracle.PROGRAM_ID, Change.set_rate_limit(1, 1), ctx=Context(accounts={
        "proposer": venue.admin.pubkey(), "config": CONFIG, "proposal": security.proposal_address(count),
        "system_program": SYSTEM_PROGRAM, "instructions": security.INSTRUCTIONS_SYSVAR}))
    failed(venue.send([ix]), E["UnsupportedTarget"])
    assert venue.chain.account(security.proposal_address(count)) is None
    assert venue.security_config().proposal_count == count


def test_stored_changes_cannot_be_altered(venue: Venue) -> None:
    holder = Keypair().pubkey()
    r, address = venue.propose(Change.grant_role(Role.COMPLIANCE, holder))
    assert r.ok
    account = venue.chain.account(address)
    assert account is not None and account.owner == security.PROGRAM_ID  # only qd-security writes it
    # Execution takes no data from the caller: the discriminator alone, and only these accounts.
    ix = venue.security.execute_proposal(address)
    assert bytes(ix.data) == idl.discriminator("global", "execute_proposal")
    failed(venue.send([Instruction(ix.program_id, bytes(ix.data) + Change.grant_role(Role.ADMIN, holder), ix.accounts)]), E["InvalidInstructionData"])
    # A forged proposal (the same bytes with the change swapped for ADMIN) is not qd-security's.
    forged = bytearray(account.data)
    forged[408:408 + 34] = Change.grant_role(Role.ADMIN, holder)
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(account.lamports, bytes(forged), SYSTEM_PROGRAM))
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    failed(venue.execute(fake), E["WrongOwner"])
    # Another qd-security account (the config, a session) as the proposal.
    failed(venue.send([with_meta(ix, "proposal", key=CONFIG)]), E["DuplicateAccount"])
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    assert venue.create_session(owner, key).ok
    failed(venue.send([with_meta(ix, "proposal", key=security.session_address(owner.pubkey(), key))]), E["WrongAccountSize"])
    assert venue.execute(address).ok
    assert venue.security_config().roles[Role.COMPLIANCE] == [holder] and venue.security_config().roles[Role.ADMIN] == []


def test_a_proposer_who_lost_the_role_cannot_execute(venue: Venue) -> None:
    admin = venue.holder(Role.ADMIN)
    r, address = venue.propose(Change.set_rate_limit(3, 3), by=admin)
    assert r.ok
    assert venue.revoke(Role.ADMIN, admin.pubkey()).ok  # the revocation's own delay passes meanwhile
    before = venue.raw(CONFIG)
    failed(venue.execute(address), E["ProposerLostAuthority"])
    assert venue.raw(CONFIG) == before
    # Its queued change can still be cancelled by a remaining ADMIN (the super-admin).
    assert venue.send([venue.security.cancel_proposal(venue.admin.pubkey(), address)]).ok


def test_changes_that_cannot_apply_when_executed_are_refused_then(venue: Venue) -> None:
    holder = Keypair().pubkey()
    first, a = venue.propose(Change.grant_role(Role.COMPLIANCE, holder))
    second, b = venue.propose(Change.grant_role(Role.COMPLIANCE, holder))
    assert first.ok and second.ok  # each dry-runs against the config as it is now
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert venue.execute(a).ok
    before = {x: venue.raw(x) for x in (CONFIG, b)}
    failed(venue.execute(b), E["AlreadyHasRole"])
    assert {x: venue.raw(x) for x in before} == before


def test_the_delay_is_set_through_the_timelock(venue: Venue) -> None:
    r = venue.enact(Change.set_timelock_delay(600))
    assert r.ok
    assert audit(r)[0].action == AuditAction.SET_TIMELOCK_DELAY and venue.security_config().timelock_delay == 600
    r, address = venue.propose(Change.set_rate_limit(1, 1))
    assert venue.proposal(address).eta == venue.chain.clock.unix_timestamp + 600
    venue.chain.advance(seconds=599)
    failed(venue.execute(address), E["TimelockNotReady"])
    venue.chain.advance(seconds=1)
    assert venue.execute(address).ok
    failed(venue.enact(Change.set_timelock_delay(-1)), E["InvalidTimelockDelay"])
    failed(venue.enact(Change.set_timelock_delay(security.MAX_TIMELOCK_DELAY + 1)), E["InvalidTimelockDelay"])


def test_an_upgradeable_deployment_keeps_the_two_day_minimum(fresh_venue: Venue) -> None:
    # Redeployed through the upgradeable loader, as on every public cluster.
    fresh_venue.chain.deploy_upgradeable("qd_security", security.PROGRAM_ID, fresh_venue.admin.pubkey())
    failed(fresh_venue.init_security(LOCAL_TIMELOCK_DELAY), E["InvalidTimelockDelay"])
    failed(fresh_venue.init_security(security.MIN_TIMELOCK_DELAY - 1), E["InvalidTimelockDelay"])
    assert fresh_venue.chain.account(CONFIG) is None
    assert fresh_venue.init_security(security.MIN_TIMELOCK_DELAY).ok
    c = fresh_venue.security_config()
    assert (c.timelock_delay, c.min_timelock_delay) == (security.MIN_TIMELOCK_DELAY, security.MIN_TIMELOCK_DELAY)
    # Nor can the delay be lowered below it later.
    failed(fresh_venue.propose(Change.set_timelock_delay(security.MIN_TIMELOCK_DELAY - 1))[0], E["InvalidTimelockDelay"])
    r, address = fresh_venue.propose(Change.set_timelock_delay(security.MAX_TIMELOCK_DELAY))
    assert r.ok and fresh_venue.proposal(address).eta == T0 + security.MIN_TIMELOCK_DELAY


@pytest.mark.parametrize("delay", [-1, security.MAX_TIMELOCK_DELAY + 1])
def test_initialize_bounds_the_delay(fresh_venue: Venue, delay: int) -> None:
    failed(fresh_venue.init_security(delay), E["InvalidTimelockDelay"])
    assert fresh_venue.chain.account(CONFIG) is None


@pytest.fixture
def council(venue: Venue) -> Council:
    """A 2-of-3 approval set made the super-admin through the timelock."""
    return venue.council()


def test_an_approval_set_records_its_members(council: Council) -> None:
    s = security.decode_approval_set(council.set, council.venue.raw(council.set))
    assert (s.threshold, s.set_id, s.members) == (2, 7, [m.pubkey() for m in council.members])
    account = council.venue.chain.account(council.set)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 344
    creator = council.venue.chain.keypair()
    keys = [Keypair().pubkey() for _ in range(9)]
    for threshold, members in ((0, keys[:2]), (3, keys[:2]), (1, []), (1, [keys[0], keys[0]]), (1, keys[:9])):
        failed(council.venue.send([council.venue.security.create_approval_set(creator.pubkey(), 1, threshold, members)], creator), E["InvalidApprovalSet"])
    assert council.venue.chain.account(security.approval_set_address(creator.pubkey(), 1)) is None


def test_the_old_super_admin_key_has_no_power_left(council: Council) -> None:
    venue = council.venue
    failed(venue.propose(Change.grant_role(Role.ADMIN, Keypair().pubkey()))[0], E["NotSuperAdmin"])
    failed(venue.propose(Change.set_rate_limit(1, 1))[0], E["MissingRole"])
    failed(venue.pause(venue.admin, Operation.FILL.bit), E["MissingRole"])


def test_a_super_admin_change_needs_m_approvals_before_its_delay(council: Council) -> None:
    venue, (a, b, c) = council.venue, council.members
    admin = Keypair().pubkey()
    r, address = council.propose(Change.grant_role(Role.ADMIN, admin), by=0)
    assert r.ok, r.logs
    p = venue.proposal(address)
    assert (p.authority, p.approval_set, p.threshold, p.approval_count, p.approvals, p.eta) == (
        security.AUTHORITY_SUPER_ADMIN, council.set, 2, 1, 0b001, 0)
    # M-1 approvals: not executable however long one waits.
    venue.chain.advance(seconds=10 * LOCAL_TIMELOCK_DELAY)
    before = {x: venue.raw(x) for x in (CONFIG, address)}
    failed(venue.execute(address), E["ProposalNotApproved"])
    # The same member twice, a non-member, an unsigned approval, another set: refused.
    failed(council.approve(address, a), E["AlreadyApproved"])
    outsider = venue.chain.keypair()
    failed(council.approve(address, outsider), E["NotApprovalMember"])
    failed(venue.send([with_meta(venue.security.approve_proposal(b.pubkey(), address, council.set), "member", signer=False)]), E["MissingSigner"])
    other_creator = venue.chain.keypair()
    assert venue.send([venue.security.create_approval_set(other_creator.pubkey(), 1, 1, [outsider.pubkey()])], other_creator).ok
    other = security.approval_set_address(other_creator.pubkey(), 1)
    failed(venue.send([venue.security.approve_proposal(outsider.pubkey(), address, other)], outsider), E["WrongApprovalSet"])
    assert {x: venue.raw(x) for x in before} == before
    # The M-th approval starts the delay.
    r = council.approve(address, c)
    assert r.ok, r.logs
    now = venue.chain.clock.unix_timestamp
    p = venue.proposal(address)
    assert (p.approval_count, p.approvals, p.eta) == (2, 0b101, now + LOCAL_TIMELOCK_DELAY)
    [event] = security.parse_events(r.logs)
    assert (event.data.action, event.data.by, event.data.approval_count) == (ProposalAction.APPROVED, c.pubkey(), 2)
    failed(venue.execute(address), E["TimelockNotReady"])
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    r = venue.execute(address)
    assert r.ok, r.logs
    assert venue.security_config().roles[Role.ADMIN] == [admin]
    failed(council.approve(address, b), E["ProposalAlreadyExecuted"])


def test_admin_changes_need_no_approvals(council: Council) -> None:
    venue = council.venue
    admin = venue.chain.keypair()
    r, grant = council.propose(Change.grant_role(Role.ADMIN, admin.pubkey()))
    assert council.approve(grant, council.members[2]).ok
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert venue.execute(grant).ok
    r, address = venue.propose(Change.set_rate_limit(4, 4), by=admin)
    assert r.ok and venue.proposal(address).threshold == 0
    failed(council.approve(address, council.members[0]), E["ApprovalsNotNeeded"])
    # A member of the set is no ADMIN.
    failed(venue.propose(Change.set_rate_limit(4, 4), by=council.members[0])[0], E["MissingRole"])


def test_a_member_of_the_set_cancels(council: Council) -> None:
    venue = council.venue
    r, address = council.propose(Change.set_timelock_delay(30), by=0)
    assert r.ok
    member = council.members[2]
    failed(venue.send([venue.security.cancel_proposal(member.pubkey(), address)], member), E["NotCanceller"])  # without the set
    assert venue.send([venue.security.cancel_proposal(member.pubkey(), address, council.set)], member).ok
    assert venue.proposal(address).state == ProposalState.CANCELLED
    failed(council.approve(address, council.members[1]), E["ProposalCancelled"])


def test_approvals_of_a_replaced_set_authorize_nothing(council: Council) -> None:
    venue, (a, b, _) = council.venue, council.members
    r, stale = council.propose(Change.grant_role(Role.ADMIN, Keypair().pubkey()), by=0)
    assert r.ok
    # The council hands the super-admin to a single key (2 of 3 approve), who accepts.
    successor = venue.chain.keypair()
    r, hand_over = council.propose(Change.propose_super_admin(successor.pubkey()), by=1)
    assert council.approve(hand_over, a).ok
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    assert venue.execute(hand_over).ok
    assert venue.send([venue.security.accept_super_admin(successor.pubkey())], successor).ok
    failed(council.approve(stale, b), E["ProposerLostAuthority"])
    before = {x: venue.raw(x) for x in (CONFIG, stale)}
    failed(venue.execute(stale), E["ProposalNotApproved"])
    assert {x: venue.raw(x) for x in before} == before


def test_accepting_for_an_approval_set_takes_a_member(venue: Venue) -> None:
    members = [venue.chain.keypair() for _ in range(2)]
    creator = venue.chain.keypair()
    assert venue.send([venue.security.create_approval_set(creator.pubkey(), 0, 2, [m.pubkey() for m in members])], creator).ok
    council = security.approval_set_address(creator.pubkey(), 0)
    assert venue.enact(Change.propose_super_admin(council)).ok
    outsider = venue.chain.keypair()
    before = venue.raw(CONFIG)
    failed(venue.send([venue.security.accept_super_admin(outsider.pubkey(), council)], outsider), E["NotPendingSuperAdmin"])
    failed(venue.send([venue.security.accept_super_admin(members[0].pubkey())], members[0]), E["NotPendingSuperAdmin"])  # set not shown
    assert venue.raw(CONFIG) == before
    assert venue.send([venue.security.accept_super_admin(members[0].pubkey(), council)], members[0]).ok
    assert venue.security_config().super_admin == council


def test_pause_is_immediate_and_unpause_timelocked(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    risk, admin = venue.holder(Role.RISK_MANAGER), venue.holder(Role.ADMIN)
    assert venue.pause(risk, Operation.WITHDRAW.bit).ok  # one transaction, in effect at once
    failed(venue.check(trader.owner, trader.margin, Action.WITHDRAW), E["Paused"])
    before = venue.raw(CONFIG)
    failed(venue.send([venue.security.set_pause(admin.pubkey(), Operation.WITHDRAW.bit, False)], admin), E["UnpauseRequiresTimelock"])
    assert venue.raw(CONFIG) == before
    r, address = venue.propose(Change.unpause(Operation.WITHDRAW.bit), by=admin)
    assert r.ok
    failed(venue.execute(address), E["TimelockNotReady"])
    failed(venue.check(trader.owner, trader.margin, Action.WITHDRAW), E["Paused"])  # still paused while queued
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    r = venue.execute(address)
    assert r.ok
    assert audit(r)[0].action == AuditAction.UNPAUSE and venue.security_config().global_pause == 0
    assert actor(venue.check(trader.owner, trader.margin, Action.WITHDRAW)) == Actor.OWNER


def test_freeze_is_immediate(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    proposals = venue.security_config().proposal_count
    r = venue.freeze(trader.margin, compliance)  # no proposal: one transaction, in effect at once
    assert r.ok
    failed(venue.check(trader.owner, trader.margin, Action.WITHDRAW), E["AccountFrozen"])
    assert venue.security_config().proposal_count == proposals


Privileged = Callable[[Venue, Trader, Keypair, Pubkey], tuple[Instruction, Keypair | None]]
PRIVILEGED: list[tuple[str, Privileged]] = [
    ("set_pause", lambda v, t, c, p: (v.security.set_pause(v.admin.pubkey(), Operation.FILL.bit), None)),
    ("freeze_account", lambda v, t, c, p: (v.security.freeze_account(c.pubkey(), t.margin, 3), c)),
    ("propose", lambda v, t, c, p: (v.security.propose(v.admin.pubkey(), v.security_config().proposal_count, Change.set_rate_limit(9, 9)), None)),
    ("execute_proposal", lambda v, t, c, p: (v.security.execute_proposal(p), None)),
    ("cancel_proposal", lambda v, t, c, p: (v.security.cancel_proposal(v.admin.pubkey(), p), None)),
    ("accept_super_admin", lambda v, t, c, p: (v.security.accept_super_admin(v.admin.pubkey()), None)),
]


@pytest.mark.parametrize(("name", "make"), PRIVILEGED, ids=[n for n, _ in PRIVILEGED])
def test_privileged_instructions_refuse_durable_nonces(venue: Venue, trader: Trader, compliance: Keypair, name: str, make: Privileged) -> None:
    nonce = Nonce(venue.chain, venue.admin)
    r, proposal = venue.propose(Change.set_rate_limit(5, 5))
    assert r.ok
    if name == "accept_super_admin":
        assert venue.enact(Change.propose_super_admin(venue.admin.pubkey())).ok
    venue.chain.advance(seconds=LOCAL_TIMELOCK_DELAY)
    ix, signer = make(venue, trader, compliance, proposal)
    signers = [signer] if signer else []
    watched = (CONFIG, proposal, trader.margin)
    before = {a: venue.raw(a) for a in watched}
    failed(nonce.send([ix], *signers), E["DurableNonce"])
    assert {a: venue.raw(a) for a in watched} == before
    # A fake Instructions sysvar (an account the attacker fills with a harmless-looking list).
    assert account_meta(ix, "instructions").pubkey == security.INSTRUCTIONS_SYSVAR
    failed(venue.send([with_meta(ix, "instructions", key=Keypair().pubkey())], *signers), E["WrongAddress"])
    # The same instruction without the nonce: accepted.
    r = venue.send([ix], *signers)
    assert r.ok, r.logs


def test_approve_refuses_a_durable_nonce(council: Council) -> None:
    venue = council.venue
    nonce = Nonce(venue.chain, venue.admin)
    r, address = council.propose(Change.set_timelock_delay(5))
    before = venue.raw(address)
    ix = venue.security.approve_proposal(council.members[1].pubkey(), address, council.set)
    failed(nonce.send([ix], council.members[1]), E["DurableNonce"])
    assert venue.raw(address) == before
    assert venue.send([ix], council.members[1]).ok


# ---- freeze / unfreeze ---------------------------------------------------------------------------

def test_compliance_freezes_and_unfreezes_through_qd_core(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    r = venue.freeze(trader.margin, compliance, 7)
    assert r.ok, r.logs
    m = venue.margin_state(trader.margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (True, 7, 1)
    [event] = audit(r)
    assert (event.action, event.actor, event.target, event.subject, event.value, event.seq) == (
        AuditAction.FREEZE, compliance.pubkey(), trader.margin, trader.owner.pubkey(), 7, 1)
    r = venue.unfreeze(trader.margin, compliance, 8)
    assert r.ok, r.logs
    m = venue.margin_state(trader.margin)
    assert (m.frozen, m.freeze_reason, m.audit_seq) == (False, 0, 2)
    [event] = audit(r)
    assert (event.action, event.value, event.seq) == (AuditAction.UNFREEZE, 8, 2)
    # The config's own sequence is untouched by freezes.
    assert venue.security_config().audit_seq == 2  # initialize, grant compliance


def test_freeze_state_and_reason_are_checked(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    before = venue.raw(trader.margin)
    failed(venue.unfreeze(trader.margin, compliance), E["NotFrozen"])
    failed(venue.freeze(trader.margin, compliance, 0), E["InvalidReason"])
    assert venue.raw(trader.margin) == before
    assert venue.freeze(trader.margin, compliance).ok
    frozen = venue.raw(trader.margin)
    failed(venue.freeze(trader.margin, compliance), E["AlreadyFrozen"])
    failed(venue.unfreeze(trader.margin, compliance, 0), E["InvalidReason"])
    assert venue.raw(trader.margin) == frozen


def test_only_compliance_freezes(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    before = venue.raw(trader.margin)
    for role in (Role.ADMIN, Role.RISK_MANAGER, Role.ORACLE_ADMIN):
        failed(venue.freeze(trader.margin, venue.holder(role)), E["MissingRole"])
    failed(venue.freeze(trader.margin, trader.owner), E["MissingRole"])
    ix = with_meta(venue.security.freeze_account(compliance.pubkey(), trader.margin, 7), "compliance", signer=False)
    failed(venue.send([ix]), E["MissingSigner"])
    assert venue.raw(trader.margin) == before
    assert venue.freeze(trader.margin, venue.admin).ok  # the super-admin holds every role


def test_freeze_refuses_fake_margin_accounts(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    real = venue.chain.account(trader.margin)
    assert real is not None
    base = venue.security.freeze_account(compliance.pubkey(), trader.margin, 7)
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(venue.send([with_meta(base, "margin_account", key=fake)], compliance), E["WrongOwner"])
    venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), security.PROGRAM_ID))
    failed(venue.send([with_meta(base, "margin_account", key=fake)], compliance), E["WrongOwner"])
    # Another qd-core account type (the GlobalConfig) as the margin account.
    failed(venue.send([with_meta(base, "margin_account", key=core.GLOBAL)], compliance), E["WrongAccountSize"])
    failed(venue.send([with_meta(base, "margin_account", writable=False)], compliance), E["NotWritable"])
    assert venue.raw(trader.margin) == bytes(real.data)


def test_freeze_refuses_an_arbitrary_cpi_target_and_a_fake_signer_pda(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    base = venue.security.freeze_account(compliance.pubkey(), trader.margin, 7)
    before = venue.raw(trader.margin)
    # An attacker's program (any executable) in place of qd-core would get our PDA's signature.
    attacker = venue.chain.deploy("qd_test_runtime", Keypair().pubkey())
    failed(venue.send([with_meta(base, "core_program", key=attacker)], compliance), E["WrongProgram"])
    failed(venue.send([with_meta(base, "core_program", key=oracle.PROGRAM_ID)], compliance), E["WrongProgram"])
    # Another key as the security authority (a signer the attacker controls, or a wrong PDA).
    failed(venue.send([with_meta(base, "security_authority", key=compliance.pubkey())], compliance), E["WrongAddress"])
    failed(venue.send([with_meta(base, "security_authority", key=CONFIG)], compliance), E["WrongAddress"])
    # The config account of another program, or a duplicate of the margin account.
    failed(venue.send([with_meta(base, "config", key=core.GLOBAL)], compliance), E["WrongAddress"])
    failed(venue.send([with_meta(base, "config", key=trader.margin)], compliance), E["WrongAddress"])
    config = venue.chain.account(CONFIG)
    assert config is not None
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(venue.send([with_meta(base, "config", key=fake)], compliance), E["WrongAddress"])
    assert venue.raw(trader.margin) == before


def test_users_cannot_call_core_set_frozen_directly(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    before = venue.raw(trader.margin)
    # A user signing as "security authority" with its own key.
    ix = venue.core.set_frozen(trader.owner.pubkey(), trader.margin, False, 0)
    failed(venue.send([ix], trader.owner), CORE_E["NotSecurityAuthority"])
    # The real PDA cannot be made to sign outside qd-security's invoke_signed.
    ix = with_meta(venue.core.set_frozen(AUTHORITY, trader.margin, True, 1), "security_authority", signer=False)
    failed(venue.send([ix]), CORE_E["MissingSigner"])
    assert venue.raw(trader.margin) == before


# ---- sessions ------------------------------------------------------------------------------------

def test_create_session_records_its_limits(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    r = venue.create_session(owner, key, scopes=SCOPE_PLACE, markets=0b1010, max_notional=5_000, expires_at=T0 + 3_600)
    assert r.ok, r.logs
    address = security.session_address(owner.pubkey(), key)
    s = security.decode_session(address, venue.raw(address))
    assert (s.owner, s.session_key, s.scopes, s.markets, s.max_notional, s.created_at, s.expires_at, s.revoked) == (
        owner.pubkey(), key, SCOPE_PLACE, 0b1010, 5_000, T0, T0 + 3_600, False)
    assert s.is_live(T0) and not s.is_live(T0 + 3_600)
    [event] = security.parse_events(r.logs)
    assert event.name == "SessionCreated"
    assert (event.data.session, event.data.session_key, event.data.expires_at, event.data.max_notional) == (address, key, T0 + 3_600, 5_000)
    account = venue.chain.account(address)
    assert account is not None and account.owner == security.PROGRAM_ID and len(account.data) == 144


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"expires_at": T0}, "InvalidSessionExpiry"),
    ({"expires_at": T0 - 1}, "InvalidSessionExpiry"),
    ({"expires_at": T0 + 7 * DAY + 1}, "InvalidSessionExpiry"),
    ({"scopes": 0}, "InvalidScopes"),
    ({"scopes": 4}, "InvalidScopes"),
    ({"markets": 0}, "InvalidMarkets"),
    ({"max_notional": 0}, "InvalidMaxNotional"),
])
def test_create_session_validates_arguments(venue: Venue, kwargs: dict[str, int], code: str) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    failed(venue.create_session(owner, key, **kwargs), E[code])
    assert venue.chain.account(security.session_address(owner.pubkey(), key)) is None


def test_session_key_must_be_another_nonzero_key(venue: Venue) -> None:
    owner = venue.chain.keypair()
    failed(venue.create_session(owner, owner.pubkey()), E["InvalidSessionKey"])
    failed(venue.create_session(owner, Pubkey.default()), E["InvalidSessionKey"])
    assert venue.create_session(owner, Keypair().pubkey(), expires_at=T0 + 7 * DAY).ok  # exactly 7 days


def test_create_session_account_checks(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    base = venue.security.create_session(owner.pubkey(), key, ALL_SCOPES, 1, 1, T0 + DAY, 10)
    failed(venue.send([with_meta(base, "owner", signer=False)]), E["MissingSigner"])
    failed(venue.send([with_meta(base, "session", writable=False)], owner), E["NotWritable"])
    failed(venue.send([with_meta(base, "system_program", key=oracle.PROGRAM_ID)], owner), E["WrongProgram"])
    failed(venue.send([with_meta(base, "session", key=owner.pubkey())], owner), E["DuplicateAccount"])
    # The PDA of another key, another owner, or a non-canonical bump.
    failed(venue.send([with_meta(base, "session", key=security.session_address(owner.pubkey(), Keypair().pubkey()))], owner), E["WrongAddress"])
    failed(venue.send([with_meta(base, "session", key=security.session_address(venue.admin.pubkey(), key))], owner), E["WrongAddress"])
    seeds = [security.SESSION_SEED, bytes(owner.pubkey()), bytes(key)]
    _, bump = Pubkey.find_program_address(seeds, security.PROGRAM_ID)
    for other in range(bump - 1, -1, -1):
        try:
            address = Pubkey.create_program_address([*seeds, bytes([other])], security.PROGRAM_ID)
        except Exception:  # on the curve: not a PDA
            continue
        failed(venue.send([with_meta(base, "session", key=address)], owner), E["WrongAddress"])
        break
    else:
        pytest.fail("no non-canonical bump found")


def test_a_session_cannot_be_created_twice(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    assert venue.create_session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    before = venue.raw(address)
    failed(venue.create_session(owner, key, max_notional=10**12), E["AlreadyInitialized"])
    assert venue.send([venue.security.revoke_session(owner.pubkey(), address)], owner).ok
    failed(venue.create_session(owner, key), E["AlreadyInitialized"])  # revoked but not closed
    assert venue.raw(address)[:11] == before[:11]


@pytest.mark.parametrize("by_owner", [True, False])
def test_owner_or_session_key_revokes(venue: Venue, by_owner: bool) -> None:
    owner, key = venue.chain.keypair(), venue.chain.keypair()
    assert venue.create_session(owner, key.pubkey()).ok
    address = security.session_address(owner.pubkey(), key.pubkey())
    who = owner if by_owner else key
    r = venue.send([venue.security.revoke_session(who.pubkey(), address)], who)
    assert r.ok
    assert security.decode_session(address, venue.raw(address)).revoked
    [event] = security.parse_events(r.logs)
    assert (event.name, event.data.by, event.data.owner, event.data.session) == ("SessionRevoked", who.pubkey(), owner.pubkey(), address)
    failed(venue.send([venue.security.revoke_session(who.pubkey(), address)], who), E["SessionAlreadyRevoked"])


def test_revoke_session_checks(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    assert venue.create_session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    before = venue.raw(address)
    stranger = venue.chain.keypair()
    failed(venue.send([venue.security.revoke_session(stranger.pubkey(), address)], stranger), E["NotSessionParty"])
    failed(venue.send([with_meta(venue.security.revoke_session(owner.pubkey(), address), "signer", signer=False)]), E["MissingSigner"])
    failed(venue.send([with_meta(venue.security.revoke_session(owner.pubkey(), address), "session", writable=False)], owner), E["NotWritable"])
    # Forged sessions: system-owned copy, and the config (another qd-security type).
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(10**9, before, SYSTEM_PROGRAM))
    failed(venue.send([venue.security.revoke_session(owner.pubkey(), fake)], owner), E["WrongOwner"])
    failed(venue.send([venue.security.revoke_session(owner.pubkey(), CONFIG)], owner), E["WrongAccountSize"])
    assert venue.raw(address) == before


def test_close_session_only_when_revoked_or_expired(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), venue.chain.keypair()
    assert venue.create_session(owner, key.pubkey(), expires_at=T0 + 60).ok
    address = security.session_address(owner.pubkey(), key.pubkey())
    before = venue.raw(address)
    failed(venue.send([venue.security.close_session(owner.pubkey(), address)], owner), E["SessionStillActive"])
    failed(venue.send([venue.security.close_session(key.pubkey(), address)], key), E["NotSessionOwner"])
    failed(venue.send([with_meta(venue.security.close_session(owner.pubkey(), address), "owner", signer=False)]), E["MissingSigner"])
    failed(venue.send([with_meta(venue.security.close_session(owner.pubkey(), address), "owner", writable=False)], owner), E["NotWritable"])
    assert venue.raw(address) == before
    venue.chain.advance(slots=10, seconds=60)  # expired
    rent = venue.chain.lamports(address)
    balance = venue.chain.lamports(owner.pubkey())
    assert venue.send([venue.security.close_session(owner.pubkey(), address)], owner).ok
    assert venue.chain.lamports(address) == 0 and venue.chain.lamports(owner.pubkey()) == balance + rent
    # Closed: a new session for the same key can be created.
    assert venue.create_session(owner, key.pubkey(), expires_at=T0 + 2 * DAY).ok


def test_close_a_revoked_session(venue: Venue) -> None:
    owner, key = venue.chain.keypair(), Keypair().pubkey()
    assert venue.create_session(owner, key).ok
    address = security.session_address(owner.pubkey(), key)
    assert venue.send([venue.security.revoke_session(owner.pubkey(), address)], owner).ok
    assert venue.send([venue.security.close_session(owner.pubkey(), address)], owner).ok
    assert venue.chain.account(address) is None or len(venue.chain.account(address).data) == 0  # type: ignore[union-attr]


# ---- check_action ----------------------------------------------------------------------------------

def actor(result: TxResult) -> Actor:
    assert result.ok, result.logs
    return Actor(result.return_data[0])


def test_owner_may_take_every_action(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    for action in Action:
        market = 3 if action in (Action.PLACE_ORDER, Action.FILL) else NO_MARKET
        assert actor(venue.check(trader.owner, trader.margin, action, market)) == Actor.OWNER


def test_frozen_accounts_may_only_deposit_cancel_settle(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    assert venue.freeze(trader.margin, compliance).ok
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.PLACE_ORDER, Action.FILL):
        failed(venue.check(trader.owner, trader.margin, action, 3), E["AccountFrozen"])
    for action in (Action.DEPOSIT, Action.CANCEL_ORDER, Action.SETTLE):
        assert actor(venue.check(trader.owner, trader.margin, action, 3)) == Actor.OWNER
    assert venue.unfreeze(trader.margin, compliance).ok
    assert actor(venue.check(trader.owner, trader.margin, Action.WITHDRAW)) == Actor.OWNER


def test_pauses_apply_to_check_action(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    risk = venue.holder(Role.RISK_MANAGER)
    assert venue.pause(risk, Operation.WITHDRAW.bit).ok
    failed(venue.check(trader.owner, trader.margin, Action.WITHDRAW), E["Paused"])
    failed(venue.check(trader.owner, trader.margin, Action.TRANSFER), E["Paused"])
    assert venue.pause(risk, Operation.PLACE_ORDER.bit, market=3).ok
    failed(venue.check(trader.owner, trader.margin, Action.PLACE_ORDER, 3, 1), E["Paused"])
    assert actor(venue.check(trader.owner, trader.margin, Action.PLACE_ORDER, 4, 1)) == Actor.OWNER
    assert actor(venue.check(trader.owner, trader.margin, Action.CANCEL_ORDER, 3)) == Actor.OWNER


def test_delegates_trade_but_never_withdraw(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    delegate = venue.chain.keypair()
    assert venue.send([venue.core.set_delegate(trader.owner.pubkey(), trader.margin, delegate.pubkey())], trader.owner).ok
    assert actor(venue.check(delegate, trader.margin, Action.PLACE_ORDER, 3, 10)) == Actor.DELEGATE
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.DEPOSIT):
        failed(venue.check(delegate, trader.margin, action), E["DelegateNotPermitted"])


def test_strangers_and_unsigned_requests_are_refused(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    stranger = venue.chain.keypair()
    failed(venue.check(stranger, trader.margin, Action.DEPOSIT), E["NotAuthorized"])
    ix = with_meta(venue.security.check_action(trader.owner.pubkey(), trader.margin, Action.WITHDRAW), "signer", signer=False)
    failed(venue.send([ix]), E["MissingSigner"])
    ix = venue.security.check_action(trader.owner.pubkey(), trader.margin, Action.WITHDRAW)
    data = bytearray(bytes(ix.data))
    data[8] = 7
    failed(venue.send([Instruction(ix.program_id, bytes(data), ix.accounts)], trader.owner), E["UnknownAction"])


def test_check_action_refuses_fake_accounts(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    base = venue.security.check_action(trader.owner.pubkey(), trader.margin, Action.WITHDRAW)
    real = venue.chain.account(trader.margin)
    assert real is not None
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(real.lamports, bytes(real.data), SYSTEM_PROGRAM))
    failed(venue.send([with_meta(base, "margin_account", key=fake)], trader.owner), E["WrongOwner"])
    failed(venue.send([with_meta(base, "margin_account", key=core.GLOBAL)], trader.owner), E["WrongAccountSize"])
    config = venue.chain.account(CONFIG)
    assert config is not None
    venue.chain.set_account(fake, Account(config.lamports, bytes(config.data), SYSTEM_PROGRAM))
    failed(venue.send([with_meta(base, "config", key=fake)], trader.owner), E["WrongAddress"])
    assert venue.send([oracle.OracleInstructions().initialize_feed(venue.admin.pubkey(), "SOL/USD", -6, 60, [venue.admin.pubkey()])]).ok
    failed(venue.send([with_meta(base, "config", key=oracle.feed_address("SOL/USD"))], trader.owner), E["WrongAddress"])


@dataclass
class SessionKey:
    """The trader's session key, allowed to place and cancel in market 3 up to 1,000,000."""

    venue: Venue
    trader: Trader
    compliance: Keypair
    key: Keypair
    address: Pubkey

    def check(self, action: Action = Action.PLACE_ORDER, market: int = 3, notional: int = 1_000, session: Pubkey | None = None,
              margin: Pubkey | None = None, signer: Keypair | None = None) -> TxResult:
        return self.venue.check(signer or self.key, margin or self.trader.margin, action, market, notional, session or self.address)


@pytest.fixture
def session(venue: Venue, trader: Trader, compliance: Keypair) -> SessionKey:
    key = venue.chain.keypair()
    assert venue.create_session(trader.owner, key.pubkey(), markets=1 << 3, max_notional=1_000_000, expires_at=T0 + DAY).ok
    return SessionKey(venue, trader, compliance, key, security.session_address(trader.owner.pubkey(), key.pubkey()))


def test_session_acts_within_its_scope(session: SessionKey) -> None:
    assert actor(session.check()) == Actor.SESSION
    assert actor(session.check(notional=1_000_000)) == Actor.SESSION
    assert actor(session.check(Action.CANCEL_ORDER, market=9)) == Actor.SESSION
    assert actor(session.check(Action.FILL)) == Actor.SESSION
    failed(session.check(notional=1_000_001), E["SessionNotional"])
    failed(session.check(market=4), E["SessionMarket"])
    for action in (Action.WITHDRAW, Action.TRANSFER, Action.DEPOSIT, Action.SETTLE):
        failed(session.check(action, market=NO_MARKET, notional=0), E["SessionScope"])
    # Without its Session account the key is nobody.
    failed(session.venue.check(session.key, session.trader.margin, Action.PLACE_ORDER, 3, 1), E["NotAuthorized"])


def test_cancel_only_session(venue: Venue, trader: Trader, compliance: Keypair) -> None:
    key = venue.chain.keypair()
    assert venue.create_session(trader.owner, key.pubkey(), scopes=SCOPE_CANCEL).ok
    address = security.session_address(trader.owner.pubkey(), key.pubkey())
    failed(venue.check(key, trader.margin, Action.PLACE_ORDER, 3, 1, address), E["SessionScope"])
    assert actor(venue.check(key, trader.margin, Action.CANCEL_ORDER, 3, 0, address)) == Actor.SESSION


def test_session_expires(session: SessionKey) -> None:
    session.venue.chain.set_time(unix_timestamp=T0 + DAY - 1)
    assert actor(session.check()) == Actor.SESSION
    session.venue.chain.set_time(unix_timestamp=T0 + DAY)
    failed(session.check(), E["SessionExpired"])


@pytest.mark.parametrize("by_owner", [True, False])
def test_revoked_session_is_refused_immediately(session: SessionKey, by_owner: bool) -> None:
    who = session.trader.owner if by_owner else session.key
    assert session.venue.send([session.venue.security.revoke_session(who.pubkey(), session.address)], who).ok
    failed(session.check(), E["SessionRevoked"])


def test_session_of_another_owner_or_key_is_refused(session: SessionKey) -> None:
    venue = session.venue
    # The key's session is for the trader's accounts only: another wallet's margin account.
    other = venue.chain.keypair()
    other_margin = venue.margin_account(other, 0, "main", balances=False)
    failed(session.check(margin=other_margin), E["SessionMismatch"])
    # Another session key presenting this session account.
    thief = venue.chain.keypair()
    failed(session.check(signer=thief), E["SessionMismatch"])
    # A session the other wallet created for the same key does not open the trader's account.
    assert venue.create_session(other, session.key.pubkey()).ok
    failed(session.check(session=security.session_address(other.pubkey(), session.key.pubkey())), E["SessionMismatch"])
    # A forged session (system-owned copy of the real bytes) and a config as session.
    fake = Keypair().pubkey()
    venue.chain.set_account(fake, Account(10**9, venue.raw(session.address), SYSTEM_PROGRAM))
    failed(session.check(session=fake), E["WrongOwner"])
    failed(session.check(session=CONFIG), E["WrongAccountSize"])


def test_session_respects_freeze_and_pause(session: SessionKey) -> None:
    assert session.venue.freeze(session.trader.margin, session.compliance).ok
    failed(session.check(), E["AccountFrozen"])
    assert actor(session.check(Action.CANCEL_ORDER)) == Actor.SESSION
    assert session.venue.unfreeze(session.trader.margin, session.compliance).ok
    assert session.venue.pause(session.venue.admin, Operation.PLACE_ORDER.bit).ok
    failed(session.check(), E["Paused"])


def test_check_action_with_a_session_is_within_budget(session: SessionKey) -> None:
    r = session.check()
    assert r.ok
    # Whole transaction: our instruction only (no compute-budget instruction added).
    assert r.cu <= 1_500, r.cu


def test_refused_actions_change_nothing(session: SessionKey) -> None:
    before = {a: session.venue.raw(a) for a in (CONFIG, session.trader.margin, session.address)}
    failed(session.check(notional=10**9), E["SessionNotional"])
    failed(session.venue.check(session.venue.chain.keypair(), session.trader.margin, Action.WITHDRAW), E["NotAuthorized"])
    assert {a: session.venue.raw(a) for a in before} == before


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
            sessions = await sec.fetch_sessions(owner.pubkey())
            assert sorted((s.session_key, s.expires_at) for s in sessions) == sorted((k.pubkey(), now + 3_600 * (i + 1)) for i, k in enumerate(keys))
            assert await sec.fetch_sessions(wallet.pubkey()) == []
            session = await sec.fetch_session(owner.pubkey(), keys[0].pubkey())
            assert session.address == security.session_address(owner.pubkey(), keys[0].pubkey()) and session.is_live(now)

            assert await sec.check_action(keys[0], margin, Action.PLACE_ORDER, 3, 5_000, session.address) == Actor.SESSION
            assert await sec.check_action(owner, margin, Action.WITHDRAW) == Actor.OWNER
            with pytest.raises(ProgramError) as refused:
                await sec.check_action(keys[0], margin, Action.WITHDRAW, session=session.address)
            assert f"custom program error: {hex(E['SessionScope'])}" in " ".join(refused.value.logs)


def test_audit_values_read_as_words(venue: Venue) -> None:
    pause = audit(venue.pause(venue.admin, Operation.PLACE_ORDER.bit | Operation.FILL.bit, market=3))[0]
    assert security.describe_audit_value(AuditAction(pause.action), pause.value) == "PLACE_ORDER+FILL market 3"
    venue_wide = audit(venue.pause(venue.admin, Operation.WITHDRAW.bit, paused=False))[0]
    assert security.describe_audit_value(AuditAction(venue_wide.action), venue_wide.value) == "WITHDRAW venue-wide"
    limit = audit(venue.enact(Change.set_rate_limit(20, 2_500)))[0]
    assert security.describe_audit_value(AuditAction(limit.action), limit.value) == "burst 20, 2.5/slot"
    grant = audit(venue.grant(Role.COMPLIANCE, Keypair().pubkey()))[0]
    assert security.describe_audit_value(AuditAction(grant.action), grant.value) == "COMPLIANCE"
