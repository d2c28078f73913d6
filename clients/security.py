"""Client for qd-security: PDAs, role / pause / action / scope constants, instruction builders,
the timelock's changes (`Change`), SecurityConfig / Session / Proposal / ApprovalSet decoders,
events, `enact` (propose, approve, wait out the delay, execute) for LiteSVM chains, and an async
client that reads the config and a wallet's sessions, enacts changes and asks the program whether
a signer may act (`check_action`) over RPC."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol, TypeVar

from anchorpy import Context, Program, Provider
from anchorpy.program.common import Event
from construct import Container
from quantdesk.clients import idl as idl_mod
from quantdesk.clients.rpc import ProgramClient
from solana.rpc.types import MemcmpOpts
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID

__all__ = ["ALL_MARKETS", "ALL_OPERATIONS", "ALL_SCOPES", "APPROVAL_SET_SEED", "AUTHORITY", "AUTHORITY_SEED", "AUTHORITY_SUPER_ADMIN", "Action",
           "Actor", "ApprovalSet", "AuditAction", "CONFIG", "CORE_PROGRAM_ID", "Change", "INSTRUCTIONS_SYSVAR", "LOCAL_TIMELOCK_DELAY", "Ledger",
           "MAX_MARKETS", "MAX_MEMBERS", "MAX_ROLE_HOLDERS", "MAX_SESSION_SECS", "MAX_TIMELOCK_DELAY", "MIN_TIMELOCK_DELAY", "NAME", "NO_MARKET",
           "Operation", "PROGRAM_ID", "PROPOSAL_SEED", "Proposal", "ProposalAction", "ProposalState", "RateLimit", "Role", "SCOPE_CANCEL",
           "SCOPE_PLACE", "SECURITY_SEED", "SESSION_OWNER_OFFSET", "SESSION_SEED", "SecurityClient", "SecurityConfig", "SecurityInstructions",
           "Session", "approval_set_address", "config_from", "decode_approval_set", "decode_config", "decode_proposal", "decode_session",
           "describe_audit_value", "enact", "enact_instruction", "mask", "parse_events", "proposal_address", "session_address", "session_from"]


NAME = "qd_security"
PROGRAM_ID = idl_mod.program_id(NAME)
CORE_PROGRAM_ID = idl_mod.program_id("qd_core")

SECURITY_SEED = b"security"
AUTHORITY_SEED = b"authority"
SESSION_SEED = b"session"
PROPOSAL_SEED = b"proposal"
APPROVAL_SET_SEED = b"approval_set"
INSTRUCTIONS_SYSVAR = Pubkey.from_string("Sysvar1nstructions1111111111111111111111111")
"""Every privileged instruction reads it to refuse durable-nonce transactions."""
CONFIG = Pubkey.find_program_address([SECURITY_SEED], PROGRAM_ID)[0]
"""The SecurityConfig PDA [b"security"]."""
AUTHORITY = Pubkey.find_program_address([AUTHORITY_SEED], PROGRAM_ID)[0]
"""qd-security's CPI signer [b"authority"]: qd-core accepts freezes only from it."""

SESSION_OWNER_OFFSET = 16
"""Where a Session's owner sits (the getProgramAccounts filter of `sessions_of`)."""
MAX_ROLE_HOLDERS = 4
MAX_MARKETS = 64
NO_MARKET = 0xFFFF
"""`market` of venue-wide pauses and of actions that are not about one market."""
MAX_SESSION_SECS = 7 * 24 * 3600
SCOPE_PLACE = 1 << 0
"""Session may place orders (and fill as maker)."""
SCOPE_CANCEL = 1 << 1
ALL_SCOPES = SCOPE_PLACE | SCOPE_CANCEL
ALL_MARKETS = (1 << MAX_MARKETS) - 1
MIN_TIMELOCK_DELAY = 2 * 86_400
"""The least delay a deployment under the upgradeable loader (every public cluster) accepts."""
MAX_TIMELOCK_DELAY = 30 * 86_400
LOCAL_TIMELOCK_DELAY = 2
"""The short delay tests, the bench and the demo initialize with: allowed only because LiteSVM and
the local validator load programs with the immutable loader."""
MAX_MEMBERS = 8


class Role(IntEnum):
    ADMIN = 0
    RISK_MANAGER = 1
    COMPLIANCE = 2
    ORACLE_ADMIN = 3


class Operation(IntEnum):
    """Pausable operations: bit `op` of a pause mask (see `mask`)."""

    DEPOSIT = 0
    WITHDRAW = 1
    """Also stops transfers between sub-accounts."""
    PLACE_ORDER = 2
    FILL = 3
    LIQUIDATE = 4
    FUNDING = 5
    SETTLE = 6

    @property
    def bit(self) -> int:
        return 1 << self.value


ALL_OPERATIONS = 0x7F


def mask(ops: Iterable[Operation]) -> int:
    """The pause mask of `ops`."""
    out = 0
    for op in ops:
        out |= op.bit
    return out


class Action(IntEnum):
    """What a signer asks to do to a margin account (`check_action`)."""

    DEPOSIT = 0
    WITHDRAW = 1
    TRANSFER = 2
    PLACE_ORDER = 3
    CANCEL_ORDER = 4
    FILL = 5
    SETTLE = 6


class Actor(IntEnum):
    """Who `check_action` authorized."""

    OWNER = 0
    DELEGATE = 1
    SESSION = 2


class AuditAction(IntEnum):
    """`AuditEvent.action` codes."""

    INITIALIZE = 0
    PROPOSE_SUPER_ADMIN = 1
    ACCEPT_SUPER_ADMIN = 2
    GRANT_ROLE = 3
    REVOKE_ROLE = 4
    PAUSE = 5
    UNPAUSE = 6
    SET_RATE_LIMIT = 7
    FREEZE = 8
    UNFREEZE = 9
    SET_TIMELOCK_DELAY = 10


class ProposalState(IntEnum):
    PENDING = 0
    EXECUTED = 1
    CANCELLED = 2


class ProposalAction(IntEnum):
    """`ProposalEvent.action` codes."""

    CREATED = 0
    APPROVED = 1
    EXECUTED = 2
    CANCELLED = 3


AUTHORITY_SUPER_ADMIN = 4
"""`Proposal.authority` of changes only the super-admin proposes (else the Role code, ADMIN)."""


def describe_audit_value(action: AuditAction, value: int) -> str:
    """`AuditEvent.value` in words: the role granted, the operations and market paused, the rate
    limit set, or the compliance reason code."""
    if action in (AuditAction.GRANT_ROLE, AuditAction.REVOKE_ROLE):
        return Role(value).name
    if action in (AuditAction.PAUSE, AuditAction.UNPAUSE):
        ops = "+".join(op.name for op in Operation if value & op.bit)
        market = value >> 8
        return f"{ops} {'venue-wide' if market == NO_MARKET else f'market {market}'}"
    if action == AuditAction.SET_RATE_LIMIT:
        return f"burst {value >> 32}, {(value & 0xFFFF_FFFF) / 1000:g}/slot"
    if action in (AuditAction.FREEZE, AuditAction.UNFREEZE):
        return f"reason {value}"
    if action in (AuditAction.INITIALIZE, AuditAction.SET_TIMELOCK_DELAY):
        return f"timelock {value} s"
    return "-"


def proposal_address(proposal_id: int) -> Pubkey:
    """The Proposal PDA [b"proposal", config, id (u64 LE)]."""
    return Pubkey.find_program_address([PROPOSAL_SEED, bytes(CONFIG), proposal_id.to_bytes(8, "little")], PROGRAM_ID)[0]


def approval_set_address(creator: Pubkey, set_id: int) -> Pubkey:
    """The ApprovalSet PDA [b"approval_set", creator, set_id (u64 LE)]."""
    return Pubkey.find_program_address([APPROVAL_SET_SEED, bytes(creator), set_id.to_bytes(8, "little")], PROGRAM_ID)[0]


class Change:
    """The `SecurityChange` (an IDL type: borsh enum) a proposal to qd-security carries, encoded
    by the IDL's own coder."""

    @staticmethod
    def _encode(variant: str, **fields: Any) -> bytes:
        program = idl_mod.program(NAME)
        return bytes(program.coder.types.encode("SecurityChange", getattr(program.type["SecurityChange"], variant)(**fields)))

    @staticmethod
    def grant_role(role: Role, holder: Pubkey) -> bytes:
        return Change._encode("GrantRole", role=int(role), holder=holder)

    @staticmethod
    def revoke_role(role: Role, holder: Pubkey) -> bytes:
        return Change._encode("RevokeRole", role=int(role), holder=holder)

    @staticmethod
    def unpause(operations: int, market: int = NO_MARKET) -> bytes:
        return Change._encode("Unpause", market=market, operations=operations)

    @staticmethod
    def set_rate_limit(capacity: int, refill_milli_per_slot: int) -> bytes:
        return Change._encode("SetRateLimit", capacity=capacity, refill_milli_per_slot=refill_milli_per_slot)

    @staticmethod
    def propose_super_admin(new_super_admin: Pubkey) -> bytes:
        """Names the successor, who then accepts (`Pubkey.default()` withdraws a pending one)."""
        return Change._encode("ProposeSuperAdmin", new_super_admin=new_super_admin)

    @staticmethod
    def set_timelock_delay(seconds: int) -> bytes:
        return Change._encode("SetTimelockDelay", delay=seconds)


def session_address(owner: Pubkey, session_key: Pubkey) -> Pubkey:
    """The Session PDA [b"session", owner, session_key] (canonical bump)."""
    return Pubkey.find_program_address([SESSION_SEED, bytes(owner), bytes(session_key)], PROGRAM_ID)[0]


@dataclass(frozen=True)
class RateLimit:
    capacity: int
    """Burst of order actions; 0 turns rate limiting off."""
    refill_milli_per_slot: int


@dataclass(frozen=True)
class SecurityConfig:
    """A decoded SecurityConfig account."""

    super_admin: Pubkey
    pending_super_admin: Pubkey | None
    roles: dict[Role, list[Pubkey]]
    global_pause: int
    market_pause: list[int]
    rate_limit: RateLimit
    audit_seq: int
    version: int
    timelock_delay: int
    min_timelock_delay: int
    proposal_count: int

    def has_role(self, role: Role, key: Pubkey) -> bool:
        """As the program decides: listed for `role`, or the super-admin."""
        return key == self.super_admin or key in self.roles[role]

    def is_paused(self, op: Operation, market: int = NO_MARKET) -> bool:
        in_market = market < MAX_MARKETS and bool(self.market_pause[market] & op.bit)
        return bool(self.global_pause & op.bit) or in_market


@dataclass(frozen=True)
class Session:
    """A decoded Session account."""

    address: Pubkey
    owner: Pubkey
    session_key: Pubkey
    scopes: int
    markets: int
    max_notional: int
    created_at: int
    expires_at: int
    revoked: bool
    budget: int
    """Quote notional its fills may trade over its life."""
    spent: int
    """Quote notional its fills have traded, at their fill prices."""

    @property
    def budget_left(self) -> int:
        return max(self.budget - self.spent, 0)

    def is_live(self, now: int) -> bool:
        """Usable at unix time `now`: not revoked and not expired."""
        return not self.revoked and now < self.expires_at


@dataclass(frozen=True)
class Proposal:
    """A decoded Proposal account."""

    address: Pubkey
    id: int
    state: ProposalState
    authority: int
    """Role.ADMIN, or AUTHORITY_SUPER_ADMIN."""
    proposer: Pubkey
    approval_set: Pubkey | None
    threshold: int
    approvals: int
    """Bit i: member i of the approval set approved."""
    approval_count: int
    target_program: Pubkey
    data: bytes
    created_at: int
    eta: int
    """Executable from this unix time; 0 while approvals are missing."""
    closed_at: int


@dataclass(frozen=True)
class ApprovalSet:
    """A decoded ApprovalSet account."""

    address: Pubkey
    creator: Pubkey
    set_id: int
    threshold: int
    members: list[Pubkey]


class SecurityInstructions:
    """Builds qd-security instructions with anchorpy's IDL coder (no network use)."""

    def __init__(self, program: Program | None = None) -> None:
        self.program = program if program is not None else idl_mod.program(NAME)

    def _ix(self, name: str, *args: Any, accounts: dict[str, Pubkey], remaining: list[AccountMeta] | None = None) -> Instruction:
        return self.program.instruction[name](*args, ctx=Context(accounts=accounts, remaining_accounts=remaining or []))

    def initialize(self, super_admin: Pubkey, program_data: Pubkey | None = None, timelock_delay: int = MIN_TIMELOCK_DELAY) -> Instruction:
        """`program_data` defaults to the ProgramData PDA (what an upgradeable deployment has);
        a delay below MIN_TIMELOCK_DELAY is accepted only under the immutable loader."""
        return self._ix("initialize", timelock_delay, accounts={
            "super_admin": super_admin, "config": CONFIG, "system_program": SYSTEM_PROGRAM_ID,
            "program": PROGRAM_ID, "program_data": program_data or idl_mod.program_data_address(PROGRAM_ID)})

    @staticmethod
    def _set(approval_set: Pubkey | None) -> list[AccountMeta]:
        return [AccountMeta(approval_set, False, False)] if approval_set is not None else []

    def accept_super_admin(self, new_super_admin: Pubkey, approval_set: Pubkey | None = None) -> Instruction:
        """`approval_set`: the pending super-admin when it is a set (`new_super_admin` a member)."""
        return self._ix("accept_super_admin", accounts={"new_super_admin": new_super_admin, "config": CONFIG,
                                                       "instructions": INSTRUCTIONS_SYSVAR}, remaining=self._set(approval_set))

    def set_pause(self, authority: Pubkey, operations: int, paused: bool = True, market: int = NO_MARKET) -> Instruction:
        """`operations`: a pause mask (`mask([...])`); `market`: an index < 64 or NO_MARKET.
        `paused=False` is refused on-chain: unpausing is a proposal (`Change.unpause`)."""
        return self._ix("set_pause", market, operations, paused, accounts={"authority": authority, "config": CONFIG,
                                                                        "instructions": INSTRUCTIONS_SYSVAR})

    def create_approval_set(self, creator: Pubkey, set_id: int, threshold: int, members: Sequence[Pubkey]) -> Instruction:
        return self._ix("create_approval_set", set_id, threshold, list(members), accounts={
            "creator": creator, "approval_set": approval_set_address(creator, set_id), "system_program": SYSTEM_PROGRAM_ID})

    def propose(self, proposer: Pubkey, proposal_id: int, change: bytes, approval_set: Pubkey | None = None) -> Instruction:
        """`proposal_id`: the config's `proposal_count`; `approval_set`: the super-admin set when
        `proposer` proposes as its member."""
        return self._ix("propose", PROGRAM_ID, change, accounts={
            "proposer": proposer, "config": CONFIG, "proposal": proposal_address(proposal_id),
            "system_program": SYSTEM_PROGRAM_ID, "instructions": INSTRUCTIONS_SYSVAR}, remaining=self._set(approval_set))

    def propose_instruction(self, proposer: Pubkey, proposal_id: int, target: Instruction) -> Instruction:
        """A routed proposal: `target` is another program's timelocked instruction as its builder
        makes it (signed by `AUTHORITY`); its accounts are stored, writable as it needs them."""
        return self._ix("propose", target.program_id, bytes(target.data), accounts={
            "proposer": proposer, "config": CONFIG, "proposal": proposal_address(proposal_id),
            "system_program": SYSTEM_PROGRAM_ID, "instructions": INSTRUCTIONS_SYSVAR},
            remaining=[AccountMeta(m.pubkey, False, m.is_writable) for m in target.accounts])

    def execute_routed(self, proposal: Pubkey, target: Instruction) -> Instruction:
        """Executes a routed proposal of `target` (its program, then exactly its accounts)."""
        ix = self.execute_proposal(proposal)
        routed = [AccountMeta(target.program_id, False, False)] + [AccountMeta(m.pubkey, False, m.is_writable) for m in target.accounts]
        return Instruction(ix.program_id, ix.data, list(ix.accounts) + routed)

    def approve_proposal(self, member: Pubkey, proposal: Pubkey, approval_set: Pubkey) -> Instruction:
        return self._ix("approve_proposal", accounts={"member": member, "config": CONFIG, "proposal": proposal,
                                                     "approval_set": approval_set, "instructions": INSTRUCTIONS_SYSVAR})

    def execute_proposal(self, proposal: Pubkey) -> Instruction:
        return self._ix("execute_proposal", accounts={"config": CONFIG, "proposal": proposal, "instructions": INSTRUCTIONS_SYSVAR})

    def close_proposal(self, proposal: Pubkey, proposer: Pubkey) -> Instruction:
        """Permissionless once `proposal` is executed or cancelled: its rent returns to `proposer`."""
        return self._ix("close_proposal", accounts={"proposal": proposal, "proposer": proposer})

    def cancel_proposal(self, authority: Pubkey, proposal: Pubkey, approval_set: Pubkey | None = None) -> Instruction:
        return self._ix("cancel_proposal", accounts={"authority": authority, "config": CONFIG, "proposal": proposal,
                                                    "instructions": INSTRUCTIONS_SYSVAR}, remaining=self._set(approval_set))

    def _freeze_accounts(self, compliance: Pubkey, margin_account: Pubkey) -> dict[str, Pubkey]:
        return {"compliance": compliance, "config": CONFIG, "margin_account": margin_account,
                "security_authority": AUTHORITY, "core_program": CORE_PROGRAM_ID, "instructions": INSTRUCTIONS_SYSVAR}

    def freeze_account(self, compliance: Pubkey, margin_account: Pubkey, reason: int) -> Instruction:
        return self._ix("freeze_account", reason, accounts=self._freeze_accounts(compliance, margin_account))

    def unfreeze_account(self, compliance: Pubkey, margin_account: Pubkey, reason: int) -> Instruction:
        return self._ix("unfreeze_account", reason, accounts=self._freeze_accounts(compliance, margin_account))

    def create_session(self, owner: Pubkey, session_key: Pubkey, scopes: int, markets: int, max_notional: int, expires_at: int,
                       budget: int) -> Instruction:
        """`max_notional`: per order (at placement, and per fill at its fill price); `budget`:
        the quote notional the session's fills may trade over its life (>= max_notional)."""
        return self._ix("create_session", session_key, scopes, markets, max_notional, expires_at, budget, accounts={
            "owner": owner, "session": session_address(owner, session_key), "system_program": SYSTEM_PROGRAM_ID})

    def revoke_session(self, signer: Pubkey, session: Pubkey) -> Instruction:
        """`signer`: the session's owner or its session key."""
        return self._ix("revoke_session", accounts={"signer": signer, "session": session})

    def close_session(self, owner: Pubkey, session: Pubkey) -> Instruction:
        return self._ix("close_session", accounts={"owner": owner, "session": session})

    def check_action(self, signer: Pubkey, margin_account: Pubkey, action: Action, market: int = NO_MARKET,
                     notional: int = 0, session: Pubkey | None = None) -> Instruction:
        """`session`: the Session account when `signer` is a session key (first remaining account)."""
        remaining = [AccountMeta(session, False, False)] if session is not None else []
        return self._ix("check_action", int(action), market, notional,
                        accounts={"signer": signer, "config": CONFIG, "margin_account": margin_account}, remaining=remaining)


def _key_or_none(key: Pubkey) -> Pubkey | None:
    return None if key == Pubkey.default() else key


def config_from(c: Container[Any]) -> SecurityConfig:
    return SecurityConfig(
        super_admin=c.super_admin,
        pending_super_admin=_key_or_none(c.pending_super_admin),
        roles={r: list(c.roles[r][: min(c.role_counts[r], MAX_ROLE_HOLDERS)]) for r in Role},
        global_pause=c.global_pause,
        market_pause=list(c.market_pause),
        rate_limit=RateLimit(c.rate_limit.capacity, c.rate_limit.refill_milli_per_slot),
        audit_seq=c.audit_seq,
        version=c.version,
        timelock_delay=c.timelock_delay,
        min_timelock_delay=c.min_timelock_delay,
        proposal_count=c.proposal_count,
    )


def session_from(address: Pubkey, c: Container[Any]) -> Session:
    return Session(address, c.owner, c.session_key, c.scopes, c.markets, c.max_notional, c.created_at, c.expires_at, bool(c.revoked),
                   c.budget, c.spent)


def decode_config(data: bytes, program: Program | None = None) -> SecurityConfig:
    """Decodes SecurityConfig account data (`ValueError` for another account type)."""
    return config_from(idl_mod.decode_account(program or idl_mod.program(NAME), "SecurityConfig", data))


def decode_session(address: Pubkey, data: bytes, program: Program | None = None) -> Session:
    return session_from(address, idl_mod.decode_account(program or idl_mod.program(NAME), "Session", data))


def decode_proposal(address: Pubkey, data: bytes, program: Program | None = None) -> Proposal:
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "Proposal", data)
    return Proposal(address, c.id, ProposalState(c.state), c.authority, c.proposer, _key_or_none(c.approval_set), c.threshold,
                    c.approvals, c.approval_count, c.target_program, bytes(c.data[: c.data_len]), c.created_at, c.eta, c.closed_at)


def decode_approval_set(address: Pubkey, data: bytes, program: Program | None = None) -> ApprovalSet:
    c = idl_mod.decode_account(program or idl_mod.program(NAME), "ApprovalSet", data)
    return ApprovalSet(address, c.creator, c.set_id, c.threshold, list(c.members[: c.member_count]))


class _Outcome(Protocol):
    """A transaction's result as a Ledger reports it (quantdesk.chain.TxResult)."""

    @property
    def ok(self) -> bool: ...


_Result_co = TypeVar("_Result_co", bound=_Outcome, covariant=True)
_Result = TypeVar("_Result", bound=_Outcome)


class Ledger(Protocol[_Result_co]):
    """What `enact` needs of a chain (quantdesk.chain.Chain): accounts, transactions, the clock."""

    def account(self, address: Pubkey) -> Account | None: ...
    def send(self, instructions: Sequence[Instruction], signers: Sequence[Keypair] = ...) -> _Result_co: ...
    def advance(self, slots: int = ..., seconds: int = ...) -> None: ...


def enact(chain: Ledger[_Result], proposer: Keypair, change: bytes, approvers: Sequence[Keypair] = (), approval_set: Pubkey | None = None) -> _Result:
    """The timelock's honest path on a LiteSVM chain: propose `change`, approve it by `approvers`
    (members of `approval_set`, the super-admin set `proposer` belongs to), move the clock past the
    delay and execute. Returns the first failing step's result, else the execution's."""
    ix = SecurityInstructions()
    config = _config_on(chain)
    proposal = proposal_address(config.proposal_count)
    steps = [(ix.propose(proposer.pubkey(), config.proposal_count, change, approval_set), proposer)]
    steps += [(ix.approve_proposal(a.pubkey(), proposal, approval_set), a) for a in approvers if approval_set is not None]
    return _run_proposal(chain, steps, config.timelock_delay, ix.execute_proposal(proposal))


def _config_on(chain: Ledger[_Outcome]) -> SecurityConfig:
    account = chain.account(CONFIG)
    if account is None:
        raise LookupError("qd-security is not initialized")
    return decode_config(bytes(account.data))


def _run_proposal(chain: Ledger[_Result], steps: Sequence[tuple[Instruction, Keypair]], delay: int, execute: Instruction) -> _Result:
    """Sends `steps` (the proposal, then any approvals) one by one, moves the clock past `delay`
    and sends `execute`: the first failing step's result, else the execution's."""
    for step, signer in steps:
        result = chain.send([step], [signer])
        if not result.ok:
            return result
    chain.advance(slots=1, seconds=delay)
    return chain.send([execute])


def parse_events(logs: list[str], program: Program | None = None) -> list[Event]:
    """The program's Anchor events in a transaction's logs, in order (CPI'd programs' events are
    skipped: anchorpy attributes each `Program data:` line to the program running)."""
    return idl_mod.parse_events(program or idl_mod.program(NAME), logs)


def enact_instruction(chain: Ledger[_Result], proposer: Keypair, target: Instruction) -> _Result:
    """A routed change's honest path on a LiteSVM chain: `proposer` (holding the route's role)
    proposes `target`, the clock moves past the delay, anyone executes. Returns the first failing
    step's result, else the execution's."""
    ix = SecurityInstructions()
    config = _config_on(chain)
    steps = [(ix.propose_instruction(proposer.pubkey(), config.proposal_count, target), proposer)]
    return _run_proposal(chain, steps, config.timelock_delay, ix.execute_routed(proposal_address(config.proposal_count), target))


class SecurityClient(ProgramClient):
    """Reads security state and asks `check_action` through an RPC node."""

    def __init__(self, provider: Provider) -> None:
        super().__init__(NAME, provider)
        self.ix = SecurityInstructions(self.program)

    async def fetch_config(self) -> SecurityConfig:
        return decode_config(await self.fetch_account_data(CONFIG), self.program)

    async def fetch_proposal(self, address: Pubkey) -> Proposal:
        return decode_proposal(address, await self.fetch_account_data(address, "proposal"), self.program)

    async def enact(self, proposer: Keypair, change: bytes, wait: Callable[[int], Awaitable[object]]) -> list[Signature]:
        """Proposes `change`, awaits `wait(seconds)` for the delay to pass (on the local validator:
        ValidatorClock.warp_seconds) and executes it; returns both signatures."""
        config = await self.fetch_config()
        proposal = proposal_address(config.proposal_count)
        proposed = await self.send([self.ix.propose(proposer.pubkey(), config.proposal_count, change)], [proposer])
        await wait(config.timelock_delay + 1)
        return [proposed, await self.send([self.ix.execute_proposal(proposal)])]

    async def fetch_session(self, owner: Pubkey, session_key: Pubkey) -> Session:
        address = session_address(owner, session_key)
        return decode_session(address, await self.fetch_account_data(address), self.program)

    async def fetch_sessions(self, owner: Pubkey) -> list[Session]:
        """Every Session of `owner` (getProgramAccounts: discriminator @0, owner @16)."""
        found = await self.program.account["Session"].all(filters=[MemcmpOpts(offset=SESSION_OWNER_OFFSET, bytes=str(owner))])
        return [session_from(a.public_key, a.account) for a in found]

    async def check_action(self, signer: Keypair, margin_account: Pubkey, action: Action, market: int = NO_MARKET,
                           notional: int = 0, session: Pubkey | None = None) -> Actor:
        """Simulates `check_action`: the actor it authorizes, or `errors.ProgramError` with the refusal."""
        ix = self.ix.check_action(signer.pubkey(), margin_account, action, market, notional, session)
        data = await self.simulate([ix], [signer])
        if len(data) != 1:
            raise RuntimeError(f"check_action returned {data!r}")
        return Actor(data[0])
