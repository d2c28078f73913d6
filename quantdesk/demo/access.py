"""Demo part 1, qd-security and qd-core: roles are granted through the timelock (proposed, executed
after the delay; an early execution is refused), an oracle admin among them; a desk creates a
master account with two sub-accounts and a delegate; a session key acts within its scopes and is
refused outside them; risk pauses a market at once and only admin reopens it, through the
timelock; compliance freezes and unfreezes an account; the audit trail is read back from the
programs' events."""
from __future__ import annotations

from dataclasses import dataclass

from anchorpy import Provider, Wallet
from solana.rpc.async_api import AsyncClient
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from quantdesk.clients import core, idl, security, sysvar, token
from quantdesk.clients.core import CoreClient
from quantdesk.clients.errors import ProgramError
from quantdesk.clients.security import (
    LOCAL_TIMELOCK_DELAY,
    NO_MARKET,
    SCOPE_CANCEL,
    SCOPE_PLACE,
    Action,
    AuditAction,
    Change,
    Operation,
    Role,
    SecurityClient,
)
from quantdesk.demo.common import fund, refused, usd
from quantdesk.localnet.controls_client import ValidatorClock
from quantdesk.world import USDC, Desk

SOL_PERP, BTC_PERP, ETH_PERP = 0, 1, 2
MARKET_NAMES = {SOL_PERP: "SOL-PERP", BTC_PERP: "BTC-PERP", ETH_PERP: "ETH-PERP", NO_MARKET: "-"}


def short(key: Pubkey | None) -> str:
    return "-" if key is None else f"{str(key)[:6]}…"


class AccessDemo:
    """The actors (wallets) and the two program clients, all on one RPC connection."""

    def __init__(self, connection: AsyncClient, rpc_url: str, super_admin: Keypair) -> None:
        provider = Provider(connection, Wallet(super_admin))
        self.clock = ValidatorClock(rpc_url)
        self.sec = SecurityClient(provider)
        self.core = CoreClient(provider)
        self.connection = connection
        self.super_admin = super_admin
        self.admin, self.risk, self.compliance, self.oracle_admin = Keypair(), Keypair(), Keypair(), Keypair()
        self.desk, self.trader, self.session_key = Keypair(), Keypair(), Keypair()
        self.names = {super_admin.pubkey(): "super-admin", self.admin.pubkey(): "admin", self.risk.pubkey(): "risk",
                      self.compliance.pubkey(): "compliance", self.oracle_admin.pubkey(): "oracle admin", self.desk.pubkey(): "desk", self.trader.pubkey(): "trader",
                      self.session_key.pubkey(): "session key", security.CONFIG: "SecurityConfig"}
        self.audited: list[Signature] = []

    def who(self, key: Pubkey) -> str:
        return self.names.get(key, short(key))

    async def privileged(self, ix: Instruction, signer: Keypair) -> None:
        """Sends a privileged instruction and keeps its signature for the audit trail."""
        self.audited.append(await self.sec.send([ix], [signer]))

    async def enact(self, change: bytes, proposer: Keypair) -> None:
        """Through the timelock: proposes, warps the validator's clock past the delay, executes."""
        self.audited.extend(await self.sec.enact(proposer, change, self.clock.warp_seconds))

    async def check(self, signer: Keypair, margin: Pubkey, action: Action, market: int = NO_MARKET, notional: int = 0,
                    session: Pubkey | None = None) -> None:
        """Asks qd-security (simulated `check_action`) and prints the verdict."""
        what = f"{self.who(signer.pubkey()):<11} {action.name.lower():<12} {MARKET_NAMES.get(market, str(market)):<8} {usd(notional):>13}"
        try:
            actor = await self.sec.check_action(signer, margin, action, market, notional, session)
            print(f"  {what}  allowed as {actor.name.lower()}")
        except ProgramError as e:
            print(f"  {what}  refused: {idl.error_name(security.NAME, e.code or 0)}")


@dataclass(frozen=True)
class Actors:
    """What later demo parts build on: the venue's quote mint, its admin and oracle admin, and the
    desk (master, sub-account 1 'alpha' whose delegate is the trader, sub-account 2 'hedge')."""

    quote_mint: Pubkey
    admin: Keypair
    oracle_admin: Keypair
    desk: Desk


async def run(connection: AsyncClient, rpc_url: str, super_admin: Keypair) -> Actors:
    d = AccessDemo(connection, rpc_url, super_admin)
    # The clock moves only by warps meanwhile, so "before the delay has passed" is exact.
    await d.clock.call("qd_pauseClock")
    try:
        return await _run(d, connection, super_admin)
    finally:
        await d.clock.call("qd_resumeClock")


async def _run(d: AccessDemo, connection: AsyncClient, super_admin: Keypair) -> Actors:
    print("== qd-security and qd-core: roles, accounts, delegates, sessions, pauses, freezes ==")
    await fund(connection, d.admin, d.risk, d.compliance, d.oracle_admin, d.desk, d.trader, d.session_key, sol=2)
    quote = Keypair()
    rent = (await connection.get_minimum_balance_for_rent_exemption(token.MINT_LEN)).value
    await d.sec.send(token.create_mint(super_admin.pubkey(), quote.pubkey(), super_admin.pubkey(), 6, rent), [quote])
    # The local validator loads programs with the immutable loader: the only place a delay below
    # the 2-day minimum is accepted.
    await d.privileged(d.sec.ix.initialize(super_admin.pubkey(), timelock_delay=LOCAL_TIMELOCK_DELAY), super_admin)
    await d.core.send([d.core.ix.initialize(super_admin.pubkey(), quote.pubkey())])
    glob = await d.core.fetch_global()
    print(f"venue initialized by the deployer: SecurityConfig {security.CONFIG}, GlobalConfig {core.GLOBAL}")
    print(f"  quote mint {glob.quote_mint} (USDC-like, 6 decimals), at most {glob.max_sub_accounts} sub-accounts per owner")

    print(f"\nroles through the timelock ({LOCAL_TIMELOCK_DELAY} s here, at least 2 days on a public cluster): the super-admin "
          "names an admin; the admin names risk, compliance and the oracle admin (who alone creates price feeds)")
    await d.enact(Change.grant_role(Role.ADMIN, d.admin.pubkey()), super_admin)
    await d.enact(Change.grant_role(Role.RISK_MANAGER, d.risk.pubkey()), d.admin)
    await d.enact(Change.grant_role(Role.COMPLIANCE, d.compliance.pubkey()), d.admin)
    await d.enact(Change.grant_role(Role.ORACLE_ADMIN, d.oracle_admin.pubkey()), d.admin)
    config = await d.sec.fetch_config()
    limit = security.proposal_address(config.proposal_count)
    await d.sec.send([d.sec.ix.propose(d.admin.pubkey(), config.proposal_count, Change.set_rate_limit(20, 2_000))], [d.admin])
    queued = await d.sec.fetch_proposal(limit)
    print(f"  proposal #{queued.id} (rate limit) by admin, executable from unix time {queued.eta}")
    await refused("anyone executes it before its delay has passed", security.NAME, d.sec.simulate([d.sec.ix.execute_proposal(limit)]))
    await d.clock.warp_seconds(LOCAL_TIMELOCK_DELAY + 1)
    d.audited.append(await d.sec.send([d.sec.ix.execute_proposal(limit)]))
    config = await d.sec.fetch_config()
    for role in Role:
        print(f"  {role.name:<13} {', '.join(d.who(k) for k in config.roles[role]) or '-'}")
    print(f"  order rate limit per margin account: burst {config.rate_limit.capacity}, refill {config.rate_limit.refill_milli_per_slot / 1000:g} per slot")
    await refused("admin proposes the trader as ADMIN (only the super-admin may)", security.NAME,
                    d.sec.simulate([d.sec.ix.propose(d.admin.pubkey(), config.proposal_count, Change.grant_role(Role.ADMIN, d.trader.pubkey()))], [d.admin]))
    await refused("the trader proposes itself as COMPLIANCE", security.NAME,
                    d.sec.simulate([d.sec.ix.propose(d.trader.pubkey(), config.proposal_count, Change.grant_role(Role.COMPLIANCE, d.trader.pubkey()))], [d.trader]))

    print("\ndesk: a master account, two sub-accounts, a trade-only delegate and per-account limits")
    master = await d.core.create(d.desk, 0, "master")
    alpha = await d.core.create(d.desk, 1, "alpha")
    hedge = await d.core.create(d.desk, 2, "hedge")
    d.names.update({master: "desk#0 master", alpha: "desk#1 alpha", hedge: "desk#2 hedge"})
    await d.core.set_delegate(d.desk, 1, d.trader.pubkey())
    await d.core.set_limits(d.desk, 2, max_leverage_x100=300, allowed_markets=(1 << SOL_PERP) | (1 << BTC_PERP), reduce_only=True)
    for m in await d.core.fetch_margin_accounts(d.desk.pubkey()):  # getProgramAccounts: discriminator + owner filters
        leverage = "market limits" if m.limits.max_leverage_x100 == 0 else f"<= {m.limits.max_leverage_x100 / 100:g}x"
        markets = "all markets" if m.limits.allowed_markets == core.ALL_MARKETS else \
            "+".join(n for i, n in MARKET_NAMES.items() if i != NO_MARKET and m.limits.allows_market(i))
        print(f"  #{m.sub_id} {m.name:<7} {m.address}  delegate {d.who(m.delegate) if m.delegate else '-':<7} "
              f"leverage {leverage:<13} {markets}{', reduce-only' if m.limits.reduce_only else ''}")
    await d.check(d.trader, alpha, Action.PLACE_ORDER, SOL_PERP, 25_000 * USDC)
    await d.check(d.trader, alpha, Action.WITHDRAW)
    await d.check(d.desk, hedge, Action.PLACE_ORDER, ETH_PERP, 1_000 * USDC)
    await refused("trader (delegate) changes alpha's limits", core.NAME,
                    d.core.simulate([d.core.ix.set_limits(d.trader.pubkey(), alpha, 1_000, core.ALL_MARKETS, False)], [d.trader]))
    await refused("trader (delegate) names itself a new delegate of master", core.NAME,
                    d.core.simulate([d.core.ix.set_delegate(d.trader.pubkey(), master, d.trader.pubkey())], [d.trader]))

    now = (await sysvar.fetch_clock(connection)).unix_timestamp
    print("\nsession: the desk's wallet signs once; a session key then trades within its scopes (Sign-In-With-Solana)")
    await d.sec.send([d.sec.ix.create_session(d.desk.pubkey(), d.session_key.pubkey(), SCOPE_PLACE | SCOPE_CANCEL,
                                              (1 << SOL_PERP) | (1 << BTC_PERP), 50_000 * USDC, now + 86_400, 500_000 * USDC)], [d.desk])
    session = security.session_address(d.desk.pubkey(), d.session_key.pubkey())
    s = await d.sec.fetch_session(d.desk.pubkey(), d.session_key.pubkey())
    print(f"  session {session}: place+cancel, SOL-PERP and BTC-PERP, max {usd(s.max_notional)} USDC per order and "
          f"{usd(s.budget)} USDC over its life, "
          f"expires in {(s.expires_at - now) // 3600} h")
    await d.check(d.session_key, master, Action.PLACE_ORDER, SOL_PERP, 10_000 * USDC, session)
    await d.check(d.session_key, master, Action.CANCEL_ORDER, BTC_PERP, 0, session)
    await d.check(d.session_key, master, Action.PLACE_ORDER, ETH_PERP, 10_000 * USDC, session)
    await d.check(d.session_key, master, Action.PLACE_ORDER, SOL_PERP, 75_000 * USDC, session)
    await d.check(d.session_key, master, Action.WITHDRAW, NO_MARKET, 0, session)
    await d.check(d.session_key, master, Action.TRANSFER, NO_MARKET, 0, session)

    print("\npause: risk pauses new orders on BTC-PERP at once; risk cannot reopen it, admin can, through the timelock")
    await d.privileged(d.sec.ix.set_pause(d.risk.pubkey(), Operation.PLACE_ORDER.bit, True, BTC_PERP), d.risk)
    await d.check(d.desk, master, Action.PLACE_ORDER, BTC_PERP, 1_000 * USDC)
    await d.check(d.desk, master, Action.CANCEL_ORDER, BTC_PERP)
    await d.check(d.desk, master, Action.PLACE_ORDER, SOL_PERP, 1_000 * USDC)
    await refused("admin unpauses BTC-PERP orders directly", security.NAME,
                    d.sec.simulate([d.sec.ix.set_pause(d.admin.pubkey(), Operation.PLACE_ORDER.bit, False, BTC_PERP)], [d.admin]))
    proposal_id = (await d.sec.fetch_config()).proposal_count
    await refused("risk proposes to unpause BTC-PERP orders", security.NAME,
                    d.sec.simulate([d.sec.ix.propose(d.risk.pubkey(), proposal_id, Change.unpause(Operation.PLACE_ORDER.bit, BTC_PERP))], [d.risk]))
    await d.enact(Change.unpause(Operation.PLACE_ORDER.bit, BTC_PERP), d.admin)
    await d.check(d.desk, master, Action.PLACE_ORDER, BTC_PERP, 1_000 * USDC)

    print("\nfreeze: compliance freezes 'alpha' (reason 17), then lifts it (reason 18)")
    await d.privileged(d.sec.ix.freeze_account(d.compliance.pubkey(), alpha, 17), d.compliance)
    print(f"  {(await d.core.fetch_margin_account(alpha)).summary()}")
    await d.check(d.trader, alpha, Action.PLACE_ORDER, SOL_PERP, 1_000 * USDC)
    await d.check(d.desk, alpha, Action.WITHDRAW)
    await d.check(d.desk, alpha, Action.TRANSFER)
    await d.check(d.desk, alpha, Action.DEPOSIT)
    await d.check(d.trader, alpha, Action.CANCEL_ORDER, SOL_PERP)
    await refused("the desk closes frozen 'alpha'", core.NAME,
                    d.core.simulate([d.core.ix.close_margin_account(d.desk.pubkey(), alpha)], [d.desk]))
    await refused("risk freezes 'hedge' (only compliance may)", security.NAME,
                    d.sec.simulate([d.sec.ix.freeze_account(d.risk.pubkey(), hedge, 1)], [d.risk]))
    await d.privileged(d.sec.ix.unfreeze_account(d.compliance.pubkey(), alpha, 18), d.compliance)
    await d.check(d.trader, alpha, Action.PLACE_ORDER, SOL_PERP, 1_000 * USDC)

    print("\nthe session key logs out (revokes its own session); the desk's wallet still trades")
    await d.sec.send([d.sec.ix.revoke_session(d.session_key.pubkey(), session)], [d.session_key])
    await d.check(d.session_key, master, Action.PLACE_ORDER, SOL_PERP, 10_000 * USDC, session)
    await d.check(d.desk, master, Action.PLACE_ORDER, SOL_PERP, 10_000 * USDC)

    print("\naudit trail (AuditEvent of every privileged action, read back from the transactions):")
    print(f"  {'seq':>3}  {'action':<18} {'actor':<12} {'target':<15} {'subject':<12} {'slot':>5}  detail")
    for sig in d.audited:
        for event in security.parse_events(await d.sec.fetch_logs(sig)):
            if event.name != "AuditEvent":
                continue
            e = event.data
            action = AuditAction(e.action)
            print(f"  {e.seq:>3}  {action.name.lower():<18} {d.who(e.actor):<12} {d.who(e.target):<15} "
                  f"{d.who(e.subject) if e.subject != Pubkey.default() else '-':<12} {e.slot:>5}  {security.describe_audit_value(action, e.value)}")
    await d.core.close(d.desk, 2)
    print(f"\nclosed the empty sub-account 'hedge' (rent back to the desk); "
          f"the desk now has {len(await d.core.fetch_margin_accounts(d.desk.pubkey()))} margin accounts")
    return Actors(quote.pubkey(), d.admin, d.oracle_admin, Desk(d.desk, {0: master, 1: alpha, 2: hedge}, d.trader))
