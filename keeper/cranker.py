"""The cranker bot: keeps the venue's periodic, permissionless work done, planned from the account
cache at the cluster's clock (the Clock sysvar, read once a round):

- expire: `expire_orders` for every trading account holding an order past its expiry (a GTT
  order's `expiry_ts`, or a market/IOC/FOK order past its post-auction window, `expiry_slot`;
  clients/trading `expired`). Lost race: `NothingToExpire`.
- funding: `update_funding` for every market not in settlement once `funding_period_secs` has
  passed since its `last_funding_ts`, when its feed passes the market's Margin guard's staleness
  limits (a stale price would only fail). Lost race: `FundingTooEarly`.
- settle: `settle_pnl` for positions whose PnL (realized, plus the funding owed since their
  snapshot, plus a settlement market's close-out) would move at least `settle_min_quote`:
  losers first (a loss moves at most the quote balance; largest loss first), and only once the
  cache holds the pools the losers paid into, the winners (a profit moves at most what the
  market's PnL pool holds beyond its fee pools, which are senior; what it cannot pay is not sent).
  Lost race: `NoPosition` (settled flat and freed meanwhile).
- sweep: qd-core `sweep_fees(market)` when what the sweep would take from a market's fee pools
  (as far as its PnL pool backs them, core.Sweep) is more than `sweep_min_quote`; only with the
  quote's insurance fund. Lost race: `NothingToSweep`.

Sent work is held (keeper/holds.py) until the cache shows its accounts changed, so a cache that
has not caught up with a landed crank does not send it again; a failed crank waits
`failure_pause_secs` unless its accounts change.

Parameters ([bots.cranker]): interval_secs (between rounds, default 1), tasks (a list of
expire, funding, settle, sweep; default all), settle_min_quote (quote native units, default 1),
sweep_min_quote (default 0), failure_pause_secs (default 10)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import httpx
from quantdesk.clients import collateral, core, health, sysvar
from quantdesk.clients.core import CoreInstructions
from quantdesk.clients.oracle import Action
from quantdesk.clients.trading import MarketStatus, TradingInstructions, expired
from quantdesk.clients.trading_state import PerpMarket, Position, funding_index, market_address, trading_address
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.holds import Holds
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import Outcome
from quantdesk.keeper.view import VenueView
from solana.exceptions import SolanaRpcException
from solana.rpc.core import RPCException
from solders.instruction import Instruction
from solders.pubkey import Pubkey

__all__ = ["CLOCK_ERRORS", "Crank", "CrankerBot", "LOST_RACES", "TASKS", "expiries", "funding_due", "losers", "pnl_of", "sweeps", "winners"]

TASKS = ("expire", "funding", "settle", "sweep")
LOST_RACES: dict[str, frozenset[str]] = {
    "expire": frozenset({"NothingToExpire"}),
    "funding": frozenset({"FundingTooEarly"}),
    "settle": frozenset({"NoPosition"}),
    "sweep": frozenset({"NothingToSweep"}),
}
"""Per task, the program errors (idl/qd_trading.json, idl/qd_core.json) that mean someone else did it first."""
CLOCK_ERRORS = (RPCException, SolanaRpcException, httpx.HTTPError, OSError, LookupError)
SENT_HOLD_SECS = 10.0
"""How long sent work waits for the cache to show it before it may be planned again."""
CATCH_UP_SECS = 5.0
"""How long the winners wait for the cache to show the losers' payments."""


@dataclass(frozen=True, slots=True)
class Crank:
    task: str
    key: Hashable  # the sender's work key
    instruction: Instruction
    accounts: tuple[tuple[str, Pubkey], ...]  # (cache type, address) it writes: sent, it is held until the cache shows one changed
    fields: dict[str, Any] = field(default_factory=dict)  # for its log line
    inputs: tuple[tuple[str, Pubkey], ...] = ()  # what else it reads: failed, a change of these (or its accounts) ends the pause


def expiries(view: VenueView, signer: Pubkey, slot: int, ts: int) -> list[Crank]:
    """expire_orders for each trading account holding an expired order."""
    ix = TradingInstructions()
    cranks = []
    for margin, account in view.trading.items():
        n = sum(expired(o, slot, ts) for o in account.orders)
        if n:
            cranks.append(Crank("expire", ("expire", margin), ix.expire_orders(signer, margin), (("trading_account", trading_address(margin)),),
                                {"margin_account": str(margin), "orders": n}))
    return cranks


def _fresh(view: VenueView, market: PerpMarket, slot: int, ts: int) -> bool:
    """The market's QuantDesk feed passes its Margin guard's staleness now (update_funding reads
    it so; a feed the cache does not hold is left to the program to judge)."""
    feed = view.feeds.get(market.oracle)
    if feed is None:
        return True
    guard = market.guards[Action.MARGIN]
    return slot - feed.publish_slot <= guard.max_staleness_slots and ts - feed.publish_time <= guard.max_staleness_secs


def funding_due(view: VenueView, slot: int, ts: int) -> list[Crank]:
    """update_funding for each market whose funding period has passed (not in settlement) and
    whose oracle price is fresh enough to read (a stale one would only fail)."""
    ix = TradingInstructions()
    return [Crank("funding", ("funding", index), ix.update_funding(index, m.oracle), (("market", market_address(index)),),
                  {"market": index, "last_funding_ts": m.last_funding_ts}, (("feed", m.oracle),))
            for index, m in sorted(view.markets.items())
            if m.status != MarketStatus.SETTLEMENT and ts >= m.last_funding_ts + m.funding_period_secs and _fresh(view, m, slot, ts)]


def pnl_of(position: Position, market: PerpMarket) -> int:
    """What settle_pnl would move for the position before the pool's and the balance's limits:
    its realized PnL, the funding owed since its snapshot and, in a settlement market, closing
    it at the settlement price."""
    pnl = position.realized_pnl + health.funding_pnl(position.base, position.funding_snapshot, funding_index(market, position.base))
    if market.status == MarketStatus.SETTLEMENT and position.base != 0:
        pnl += position.base * market.settlement_price // health.BASE_SCALE + position.quote_entry
    return pnl


def _settle(view: VenueView, signer: Pubkey, margin: Pubkey, market: PerpMarket, pnl: int, moves: int) -> Crank:
    quote = view.quote_mint
    assert quote is not None
    return Crank("settle", ("settle", margin, market.index), TradingInstructions().settle_pnl(signer, margin, market.index, quote),
                 (("trading_account", trading_address(margin)),), {"margin_account": str(margin), "market": market.index, "pnl": pnl, "moves": moves},
                 (("market", market_address(market.index)), ("balances", collateral.balances_address(margin))))


def _positions(view: VenueView) -> list[tuple[Pubkey, Position, PerpMarket, int]]:
    found = []
    for margin, account in view.trading.items():
        for p in account.positions:
            market = view.markets.get(p.market_index)
            if market is not None:
                found.append((margin, p, market, pnl_of(p, market)))
    return found


def losers(view: VenueView, signer: Pubkey, min_quote: int) -> list[Crank]:
    """settle_pnl of each loss that would move at least `min_quote` of its account's quote
    balance (a settlement market's open position always), largest loss first."""
    quote = view.quote_mint
    if quote is None:
        return []
    found = []
    for margin, p, market, pnl in _positions(view):
        if pnl >= 0:
            continue
        held = view.balances[margin].balance_of(quote) if margin in view.balances else 0
        moves = min(-pnl, max(held, 0))
        closes = market.status == MarketStatus.SETTLEMENT and p.base != 0
        if moves >= max(min_quote, 1) or closes:
            found.append((pnl, _settle(view, signer, margin, market, pnl, -moves)))
    return [c for _, c in sorted(found, key=lambda f: f[0])]


def winners(view: VenueView, signer: Pubkey, min_quote: int) -> list[Crank]:
    """settle_pnl of each profit the market's PnL pool can pay at least `min_quote` of, beyond
    its fee pools (largest profit first, each paid out of what the previous ones left)."""
    if view.quote_mint is None:
        return []
    free = {i: m.pnl_pool - max(m.fee_pool, 0) - max(m.liquidation_fee_pool, 0) for i, m in view.markets.items()}
    cranks = []
    for margin, p, market, pnl in sorted(_positions(view), key=lambda f: -f[3]):
        closes = market.status == MarketStatus.SETTLEMENT and p.base != 0
        if pnl < 0 or (pnl == 0 and not closes):
            continue
        moves = min(pnl, max(free[market.index], 0))
        if moves >= max(min_quote, 1) or closes:
            free[market.index] -= moves
            cranks.append(_settle(view, signer, margin, market, pnl, moves))
    return cranks


def sweeps(view: VenueView, min_quote: int) -> list[Crank]:
    """sweep_fees of each market whose backed fee pools hold more than `min_quote` (with the quote's insurance fund)."""
    quote = view.quote_mint
    fund = view.funds.get(quote) if quote is not None else None
    if quote is None or fund is None:
        return []
    ix = CoreInstructions()
    cranks = []
    for index, m in sorted(view.markets.items()):
        sweep = core.Sweep.of(fund.fee_share_bps, m.liquidation_fee_pool, m.fee_pool, m.pnl_pool)
        amount = sweep.liquidation_fees + sweep.trading_fees
        if not sweep.empty and amount > min_quote:
            cranks.append(Crank("sweep", ("sweep", index), ix.sweep_fees(quote, index),
                                (("market", market_address(index)),),
                                {"market": index, "liquidation_fees": sweep.liquidation_fees, "trading_fees": sweep.trading_fees,
                                 "to_insurance": sweep.to_insurance}, (("insurance_fund", core.insurance_fund_address(quote)),)))
    return cranks


class CrankerBot:
    name = "cranker"

    def __init__(self) -> None:
        self.rounds = 0  # rounds planned (tests wait on it)
        self._tasks: set[asyncio.Task[Outcome | None]] = set()
        self._settling: asyncio.Task[None] | None = None

    def _params(self, params: dict[str, Any]) -> None:
        table = Table(params, "bots.cranker")
        table.only("interval_secs", "tasks", "settle_min_quote", "sweep_min_quote", "failure_pause_secs")
        self.interval = table.number("interval_secs", 1.0, above=True)
        self.tasks = table.strings("tasks", list(TASKS))
        unknown = sorted(set(self.tasks) - set(TASKS))
        if unknown:
            raise InvalidValue(f"bots.cranker.tasks: unknown tasks {', '.join(unknown)} (known: {', '.join(TASKS)})")
        self.settle_min = table.integer("settle_min_quote", 1, low=0)
        self.sweep_min = table.integer("sweep_min_quote", 0, low=0)
        self.failure_pause = table.number("failure_pause_secs", 10.0)

    def prepare(self, ctx: BotContext) -> None:
        """Reads the parameters and builds the view of the (live) cache: what `run` plans and sends with."""
        self._params(ctx.params)
        self.view = VenueView(ctx.cache)
        self.holds = Holds(ctx.cache)

    async def run(self, ctx: BotContext) -> None:
        self._params(ctx.params)  # a bad table fails at once, not once the cache is live
        await ctx.cache.live.wait()
        self.prepare(ctx)
        ctx.log.info("cranker.started", tasks=self.tasks, interval_secs=self.interval)
        try:
            while True:
                try:
                    clock = await sysvar.fetch_clock(ctx.rpc)
                except CLOCK_ERRORS as exc:  # a failed read costs this round only
                    ctx.log.warning("cranker.clock_error", error=repr(exc))
                else:
                    self.round(ctx, clock.slot, clock.unix_timestamp)
                await asyncio.sleep(self.interval)
        finally:
            for task in [*self._tasks, *([self._settling] if self._settling else [])]:
                task.cancel()

    def round(self, ctx: BotContext, slot: int, ts: int) -> None:
        """Starts every configured task's work due at the cluster's `slot` and `ts`; each crank
        is sent on its own (a slow confirmation holds up nothing else), the settlement of losers
        and winners in order, one settlement pass at a time."""
        signer = ctx.keypair.pubkey()
        cranks: list[Crank] = []
        if "expire" in self.tasks:
            cranks += expiries(self.view, signer, slot, ts)
        if "funding" in self.tasks:
            cranks += funding_due(self.view, slot, ts)
        if "sweep" in self.tasks:
            cranks += sweeps(self.view, self.sweep_min)
        for crank in cranks:
            if self._free(ctx, crank):
                task = asyncio.create_task(self.send(ctx, crank))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if "settle" in self.tasks and (self._settling is None or self._settling.done()):
            self._settling = asyncio.create_task(self._settle(ctx))
        self.rounds += 1

    def _free(self, ctx: BotContext, crank: Crank) -> bool:
        """Not in flight, nor sent (or failed) so recently that the cache has not shown it yet."""
        return not ctx.sender.in_flight(crank.key) and not self.holds.held(crank.key)

    async def _settle(self, ctx: BotContext) -> None:
        """Losers, then (once the cache holds the pools they paid into) winners."""
        signer = ctx.keypair.pubkey()
        planned = [c for c in losers(self.view, signer, self.settle_min) if self._free(ctx, c)]
        results = await asyncio.gather(*(self.send(ctx, c) for c in planned))
        paid = {c.fields["market"] for c, outcome in zip(planned, results) if outcome == Outcome.LANDED}
        if paid:
            before = {i: self.view.markets[i].total_pnl_settled for i in paid if i in self.view.markets}
            deadline = time.monotonic() + CATCH_UP_SECS
            while time.monotonic() < deadline and any(self.view.markets[i].total_pnl_settled == v for i, v in before.items()):
                await asyncio.sleep(0.02)
            ctx.log.debug("cranker.losers_settled", markets=sorted(paid))
        await asyncio.gather(*(self.send(ctx, c) for c in winners(self.view, signer, self.settle_min) if self._free(ctx, c)))

    async def send(self, ctx: BotContext, crank: Crank) -> Outcome:
        """Sends one crank, holding it until the cache shows what it did (or, failed, for the pause)."""
        self.holds.hold(crank.key, crank.accounts, SENT_HOLD_SECS)
        result = await ctx.sender.send(self.name, crank.key, [crank.instruction], lost_race=LOST_RACES[crank.task], detected_at=time.monotonic())
        if result.outcome == Outcome.IN_FLIGHT:
            return result.outcome
        ctx.metrics.cranks.labels(crank.task, result.outcome.value).inc()
        ctx.log.info("cranker.crank", task=crank.task, outcome=result.outcome.value, error=result.error,
                     signature=str(result.signature) if result.signature else None, **crank.fields)
        if result.outcome in (Outcome.FAILED, Outcome.EXPIRED):
            # Not again at once (it would fail the same way): after a pause, or when its accounts change.
            self.holds.hold(crank.key, [*crank.accounts, *crank.inputs], self.failure_pause)
        return result.outcome
