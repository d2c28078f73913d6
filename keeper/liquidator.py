"""The liquidator bot: judges every account as the cache changes (keeper/health_index.py), queues
the liquidatable ones by shortage, and takes each through qd-core's steps until it is healthy
or resolved:

1. `liquidate_orders` while it has open orders;
2. `liquidate_perp` on the position one step may take most of (the view's `max_base`, capped by
   what the liquidator's own initial health above `health_floor` can carry);
3. `settle_pnl` of a flat position's loss into its quote balance, then `liquidate_collateral`
   for the debt left against its largest non-quote collateral;
4. `resolve_bankruptcy` once nothing but a debt is left;
and `exit_liquidation` for an account being liquidated that prices have made healthy again.
After a perp step it de-risks what it took over with a reduce-only order within
`slippage_bps` of the oracle price.

Parameters ([bots.liquidator]): sub_id (its own margin account, default 0), workers (default
4), health_floor (initial health it keeps, quote native units, default 0), slippage_bps
(default 100), derisk (default true), failure_pause_secs (how long an account whose step failed
waits before it is tried again unless its accounts change, default 5)."""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass

from quantdesk.clients import core, health, liquidation
from quantdesk.clients.core import CoreInstructions, liquidated_health, liquidator_health
from quantdesk.clients.trading import OrderKind, OrderParams, Side, TimeInForce, TradingInstructions, health_accounts, round_to_tick
from quantdesk.clients.trading_state import PerpMarket
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.health_index import HealthIndex
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import Outcome
from quantdesk.keeper.view import VenueView
from solders.instruction import Instruction
from solders.pubkey import Pubkey

__all__ = ["LOST_RACES", "LiquidatorBot", "Step", "plan"]

LOST_RACES = frozenset({"NotLiquidatable", "NothingToLiquidate", "NoPositionToLiquidate", "NotBankrupt", "NotBeingLiquidated",
                        "LiquidationNotOver", "SettleQuoteFirst", "PositionNotFlat", "OpenOrders"})
"""Errors that mean the account moved on since it was judged (another keeper's step, a deposit, a price)."""

U64_MAX = 2**64 - 1
DERISK_WAIT_SECS = 5.0


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # liquidate_orders, liquidate_perp, settle_pnl, liquidate_collateral, resolve_bankruptcy, exit_liquidation
    market: int | None
    instruction: Instruction


def _own_capacity(view: VenueView, me: Pubkey, market: PerpMarket, floor: int) -> int:
    """The base the liquidator's initial health above `floor` carries in `market` at its oracle
    price and initial margin (lots, rounded down): the fee it earns only adds to it."""
    price = view.market_price(market.index)
    if price is None or market.init_margin_bps == 0:
        return U64_MAX
    h, _ = view.health(me)
    room = h.init_health() - floor
    if room <= 0:
        return 0
    base = room * health.BPS * health.BASE_SCALE // (price * market.init_margin_bps)
    return base // market.lot_size * market.lot_size


def plan(view: VenueView, margin: Pubkey, me: Pubkey, signer: Pubkey, floor: int = 0) -> Step | None:
    """The next step for the liquidatable (or recovered) account, from the cached state."""
    quote = view.quote_mint
    account = view.margins.get(margin)
    if quote is None or account is None:
        return None
    core_ix = CoreInstructions()
    state = view.health_state(margin)
    trading = view.trading.get(margin)
    balances = state.balances
    h, inputs = view.health(margin)
    if not h.is_liquidatable(account.being_liquidated):
        if account.being_liquidated:
            return Step("exit_liquidation", None, core_ix.exit_liquidation(margin, state.health_accounts()))
        return None
    if trading is not None and trading.has_open_order:
        return Step("liquidate_orders", None, core_ix.liquidate_orders(signer, me, margin, quote, liquidated_health(state)))
    best: tuple[int, PerpMarket, int] | None = None
    for market, p in inputs:
        if p.base == 0:
            continue
        step = health.max_liquidatable_base(h, p, liquidation.terms(market))
        notional = step * p.price
        if step > 0 and (best is None or notional > best[0]):
            best = (notional, market, step)
    if best is not None:
        _, market, step = best
        capped = min(step, _own_capacity(view, me, market, floor))
        if capped == 0:
            return None
        mine = view.health_state(me, markets=[market.index])
        return Step("liquidate_perp", market.index, core_ix.liquidate_perp(
            signer, me, margin, market.index, market.oracle, quote, capped, liquidated_health(state, market.index),
            liquidator_health(mine, market.index)))
    debts = [p for p in (trading.positions if trading is not None else []) if p.base == 0 and p.realized_pnl < 0]
    if not debts:
        return None
    debt = min(debts, key=lambda p: p.realized_pnl)
    market = view.markets[debt.market_index]
    if balances.balance_of(quote) > 0:
        return Step("settle_pnl", debt.market_index, TradingInstructions().settle_pnl(signer, margin, debt.market_index, quote))
    assets = [(e.balance * (view.collateral_price(e.mint) or 0), e.mint) for e in balances.entries if e.mint != quote and e.balance > 0]
    if assets:
        _, mint = max(assets, key=lambda a: a[0])
        mine = view.health_state(me, markets=[market.index], mints=[mint])
        max_quote = view.balances[me].balance_of(quote) if me in view.balances else 0
        if max_quote <= 0:
            return None
        return Step("liquidate_collateral", market.index, core_ix.liquidate_collateral(
            signer, me, margin, market.index, market.oracle, quote, view.configs[mint], max_quote, liquidated_health(state, market.index),
            liquidator_health(mine, market.index, mint)))
    if liquidation.bankrupt(balances, trading) and quote in view.funds:  # without the quote's insurance fund it waits for one
        return Step("resolve_bankruptcy", market.index, core_ix.resolve_bankruptcy(signer, margin, market.index, quote))
    return None


def derisk(view: VenueView, me: Pubkey, signer: Pubkey, market_index: int, slippage_bps: int) -> Instruction | None:
    """A reduce-only market order for what of the liquidator's position in the market its working
    orders do not close yet, no worse than `slippage_bps` from the oracle price."""
    trading, market, price, quote = view.trading.get(me), view.markets.get(market_index), view.market_price(market_index), view.quote_mint
    position = trading.position(market_index) if trading is not None else None
    if position is None or position.base == 0 or market is None or price is None or quote is None:
        return None
    side = Side.ASK if position.base > 0 else Side.BID
    assert trading is not None  # a position implies its trading account
    working = sum(o.remaining for o in trading.orders if o.market_index == market_index and o.side == side)
    size = (abs(position.base) - working) // market.lot_size * market.lot_size
    if size < market.min_order_size:
        return None
    worst = price * (health.BPS - slippage_bps) // health.BPS if side == Side.ASK else price * (health.BPS + slippage_bps) // health.BPS
    params = OrderParams(market_index, side, size, round_to_tick(worst, market.tick_size, side), OrderKind.MARKET, TimeInForce.IOC,
                         reduce_only=True)
    state = view.health_state(me, markets=[market_index])
    return TradingInstructions().place_order(signer, me, params, market.oracle, quote,
                                             health_accounts(state.balances, state.configs, state.trading, state.markets, market_index))


class LiquidatorBot:
    name = "liquidator"

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Pubkey]] = []
        self._queued: dict[Pubkey, int] = {}
        self._counter = itertools.count()
        self._wake = asyncio.Event()
        self._detected: dict[Pubkey, float] = {}

    def _verdict(self, margin: Pubkey, liquidatable: bool, shortage: int, at: float) -> None:
        account = self.view.margins.get(margin)
        if account is None or self.signer in (account.owner, account.delegate):
            return  # its own wallet's accounts and those it is delegate of: the program refuses them (SelfLiquidation)
        self._detected.setdefault(margin, at)
        if self._queued.get(margin) != shortage:
            self._queued[margin] = shortage
            heapq.heappush(self._heap, (-shortage, next(self._counter), margin))
        self._wake.set()

    def _holds(self, market_index: int) -> bool:
        trading = self.view.trading.get(self.me)
        position = trading.position(market_index) if trading is not None else None
        return position is not None and position.base != 0

    def _pop(self) -> Pubkey | None:
        while self._heap:
            neg, _, margin = heapq.heappop(self._heap)
            if self._queued.get(margin) == -neg:
                del self._queued[margin]
                return margin
        return None

    async def run(self, ctx: BotContext) -> None:
        table = Table(ctx.params, "bots.liquidator")
        table.only("sub_id", "workers", "health_floor", "slippage_bps", "derisk", "failure_pause_secs")
        signer = self.signer = ctx.keypair.pubkey()
        self.me = core.margin_account_address(signer, table.integer("sub_id", 0, 0, 2**16 - 1))
        self.floor = table.integer("health_floor", 0, low=0)
        self.slippage_bps = table.integer("slippage_bps", 100, 0, health.BPS - 1)
        self.derisk = table.flag("derisk", True)
        self.failure_pause_secs = table.number("failure_pause_secs", 5.0)
        workers = table.integer("workers", 4, 1, 64)
        await ctx.cache.live.wait()
        self.view = VenueView(ctx.cache)
        self.index = HealthIndex(self.view, self._verdict)
        self.index.judge_all()
        ctx.log.info("liquidator.started", margin_account=str(self.me), accounts=len(self.view.margins),
                     liquidatable=len(self.index.liquidatable))
        tasks = [asyncio.create_task(self._work(ctx)) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _work(self, ctx: BotContext) -> None:
        signer = ctx.keypair.pubkey()
        while True:
            margin = self._pop()
            if margin is None:
                self._wake.clear()
                await self._wake.wait()
                continue
            detected = self._detected.pop(margin, None)
            try:
                step = plan(self.view, margin, self.me, signer, self.floor)
            except (KeyError, health.HealthError) as exc:
                ctx.log.warning("liquidator.unplannable", margin_account=str(margin), error=repr(exc))
                continue
            if step is None:
                continue
            result = await ctx.sender.send(self.name, ("liquidate", margin), [step.instruction], lost_race=LOST_RACES, detected_at=detected)
            ctx.metrics.liquidation_steps.labels(step.name, result.outcome.value).inc()
            ctx.log.info("liquidator.step", step=step.name, margin_account=str(margin), market=step.market, outcome=result.outcome.value,
                         error=result.error, signature=str(result.signature) if result.signature else None)
            if result.outcome == Outcome.IN_FLIGHT:
                continue
            if result.outcome in (Outcome.FAILED, Outcome.EXPIRED):
                # Not at once again (the same step would fail the same way): after a pause, or when its accounts change.
                asyncio.get_running_loop().call_later(self.failure_pause_secs, self.index.judge, margin, time.monotonic())
                continue
            if result.outcome == Outcome.LANDED and step.name == "liquidate_perp" and self.derisk and step.market is not None:
                await self._derisk(ctx, step.market)
            self.index.judge(margin, time.monotonic())

    async def _derisk(self, ctx: BotContext, market_index: int) -> None:
        """Once the cache shows the position the step handed over (its notification follows the
        confirmation by a moment), closes it reduce-only."""
        deadline = time.monotonic() + DERISK_WAIT_SECS
        while not self._holds(market_index) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        ix = derisk(self.view, self.me, ctx.keypair.pubkey(), market_index, self.slippage_bps)
        if ix is None:
            return
        result = await ctx.sender.send(self.name, ("derisk", market_index), [ix], lost_race={"NoPosition"})
        ctx.log.info("liquidator.derisk", market=market_index, outcome=result.outcome.value, error=result.error)
