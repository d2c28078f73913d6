"""The JIT maker bot: makes takers' orders during their Dutch auctions with `place_and_make`,
from its own margin account, when the auction's price is within its spread of the oracle price.

A taker's bid is made (the maker sells) when the auction price is at least
oracle * (1 + spread_bps / 10,000), a taker's ask (the maker buys) when it is at most
oracle * (1 - spread_bps / 10,000); a negative spread makes an aggressive maker, which takes
auctions on the wrong side of the oracle. The maker's own price is that bound rounded to a tick
against its side, so the program refuses a fill whose auction price moved past it
(MakerPriceNotMet) and a fill always lands at the auction price of its slot.

It reacts at once to the cache's notifications (an order in auction appears in a trading
account: the view's "account" event, judged in its callback) and on every slot the cache hears
of (the auction price moves each slot), checked every `poll_secs`. Size: the taker's remaining
base, at most `max_fill_notional` at the highest price left in the auction (the fill lands a
slot or more after it is planned) and what keeps |position| within
`max_inventory` after the fill (its fills in flight and landed but not yet in the cache
counted), in lots. Refused, each counted once per order in
quantdesk_keeper_jit_refusals_total{market,reason}: its own orders and those of its owner's
other accounts (self_trade), accounts being liquidated (liquidating), auctions outside the
spread (outside_spread: made once the price comes into it), no room left (inventory) or a fill
cap below a lot (notional). Races it can lose (LOST_RACES): the order filled or cancelled
(OrderNotFound), its auction over (AuctionOver), expired (OrderExpired), the price past its
limit (MakerPriceNotMet). A fill that failed otherwise waits `failure_pause_secs` before its
order is tried again.

Every landed fill's time from the notification that first showed the taker's order to the
fill's confirmation is observed in quantdesk_keeper_auction_to_fill_seconds and kept in
`latencies` (the last `samples`), the fill itself in `fills`.

Parameters ([bots.jit]): sub_id (its margin account, default 0), spread_bps (default 10,
-1,000..10,000), max_inventory (base native units, required), max_fill_notional (quote native
units, required), markets (per market index, e.g. `[bots.jit.markets.0]`, any of spread_bps,
max_inventory, max_fill_notional overriding the defaults above; when given, only those markets
are made), poll_secs (how often the slot is checked, default 0.02), failure_pause_secs (default
2), samples (latencies kept, default 10,000)."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from quantdesk.clients import core, health
from quantdesk.clients.trading import MakerParams, Side, TradingInstructions, auction_price, expired, health_accounts, in_auction, order_session, round_to_tick
from quantdesk.clients.trading_state import Order, trading_address
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.config import InvalidValue
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import Outcome
from quantdesk.keeper.view import Event, VenueView
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = ["JitBot", "JitFill", "LOST_RACES", "Limits", "Make", "plan"]

LOST_RACES = frozenset({"OrderNotFound", "AuctionOver", "OrderExpired", "MakerPriceNotMet"})
"""qd-trading's refusals of a fill someone else made first, or that the auction's clock overtook."""

OrderKey = tuple[Pubkey, int]  # the taker's margin account, its order id


@dataclass(frozen=True, slots=True)
class Limits:
    spread_bps: int
    max_inventory: int  # |position| after a fill, base native units
    max_fill_notional: int  # quote native units, at the highest price left in the auction


@dataclass(frozen=True, slots=True)
class Make:
    taker: Pubkey
    order: Order  # as planned from (its placed_slot and auction give the fill price of any slot)
    size: int
    price: int  # the maker's limit
    auction_price: int  # at the slot planned at
    instruction: Instruction


@dataclass(frozen=True, slots=True)
class JitFill:
    market: int
    taker: Pubkey
    order: Order
    size: int
    price: int  # the maker's limit; the fill's price is auction_price(order, slot, tick)
    slot: int
    signature: Signature | None
    seconds: float  # from the taker order's first notification to the fill's confirmation


def _bound(oracle: int, spread_bps: int, taker: Side, tick: int) -> int:
    """The maker's price: the oracle moved by the spread away from the taker, rounded against the maker's side."""
    maker = taker.opposite
    offset = spread_bps if taker == Side.BID else -spread_bps
    return round_to_tick(oracle * (health.BPS + offset) // health.BPS, tick, maker)


def plan(view: VenueView, me: Pubkey, signer: Pubkey, taker: Pubkey, order: Order, slot: int, limits: Limits, pending: int = 0) -> Make | str:
    """How to make the taker's order at `slot`, or why not (a refusal reason; "" when there is
    nothing to make). `pending`: the base its fills not yet in the cache add to its position."""
    market, oracle, quote = view.markets.get(order.market_index), view.market_price(order.market_index), view.quote_mint
    trading = view.trading.get(taker)
    margin = view.margins.get(taker)
    if market is None or oracle is None or quote is None or trading is None or margin is None:
        return ""
    # By slot only (the cache keeps no clock): a GTT order past its time is a lost race (OrderExpired).
    if not in_auction(order, slot) or expired(order, slot, 0) or order.base_filled >= order.base_size:
        return ""
    if taker == me or trading.owner == signer:
        return "self_trade"
    if margin.being_liquidated:
        return "liquidating"
    side = Side(order.side)
    now = auction_price(order, slot, market.tick_size)
    price = _bound(oracle, limits.spread_bps, side, market.tick_size)
    if (side == Side.BID and now < price) or (side == Side.ASK and now > price):
        return "outside_spread"
    mine = view.trading.get(me)
    position = mine.position(market.index) if mine is not None else None
    base = (position.base if position is not None else 0) + pending
    room = limits.max_inventory + base if side == Side.BID else limits.max_inventory - base  # the maker sells to a bid
    # At the highest price the fill may land at (its slot is later than this one): the cap holds whatever the slot.
    highest = max(now, auction_price(order, order.placed_slot + order.auction_slots, market.tick_size))
    by_notional = limits.max_fill_notional * health.BASE_SCALE // highest
    size = min(order.remaining, room, by_notional) // market.lot_size * market.lot_size
    if size <= 0:
        return "inventory" if room < by_notional else "notional"
    maker_state = view.health_state(me, markets=[market.index])
    taker_state = view.health_state(taker, markets=[market.index])
    ix = TradingInstructions().place_and_make(
        signer, me, taker, market.index, market.oracle, quote, order.order_id, MakerParams(price, size),
        health_accounts(maker_state.balances, maker_state.configs, maker_state.trading, maker_state.markets, market.index),
        health_accounts(taker_state.balances, taker_state.configs, taker_state.trading, taker_state.markets, market.index),
        taker_session=order_session(trading, order.order_id))
    return Make(taker, order, size, price, now, ix)


@dataclass(slots=True)
class _Pending:
    market: int
    base: int  # what the fill adds to the maker's position
    slot: int | None = None  # landed at; counted until the cache holds the maker's account of that slot


class JitBot:
    name = "jit"

    def __init__(self) -> None:
        self.latencies: deque[float] = deque(maxlen=10_000)
        self.fills: deque[JitFill] = deque(maxlen=10_000)
        self.seen: dict[OrderKey, float] = {}  # orders in auction -> when a notification first showed each
        self._refused: dict[OrderKey, set[str]] = {}  # the reasons counted for each order
        self._paused: dict[OrderKey, float] = {}
        self._after: dict[OrderKey, int] = {}  # judged again only from a version of the taker's account of this slot on
        self._pending: list[_Pending] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._making: set[OrderKey] = set()  # from the plan on (the sender knows a send only once its task runs)

    def _limits(self, table: Table) -> tuple[Limits, dict[int, Limits]]:
        default = Limits(table.integer("spread_bps", 10, -1_000, health.BPS), table.integer("max_inventory", low=0),
                         table.integer("max_fill_notional", low=0))
        markets: dict[int, Limits] = {}
        per = table.table("markets", {})
        for key in per.raw:
            if not key.isdigit():
                raise InvalidValue(f"bots.jit.markets: expected market indices as keys, got {key!r}")
            t = per.table(key)
            t.only("spread_bps", "max_inventory", "max_fill_notional")
            markets[int(key)] = Limits(t.integer("spread_bps", default.spread_bps, -1_000, health.BPS),
                                       t.integer("max_inventory", default.max_inventory, 0),
                                       t.integer("max_fill_notional", default.max_fill_notional, 0))
        return default, markets

    async def run(self, ctx: BotContext) -> None:
        table = Table(ctx.params, "bots.jit")
        table.only("sub_id", "spread_bps", "max_inventory", "max_fill_notional", "markets", "poll_secs", "failure_pause_secs", "samples")
        self.default, self.markets = self._limits(table)
        poll = table.number("poll_secs", 0.02, above=True)
        self.failure_pause_secs = table.number("failure_pause_secs", 2.0)
        self.latencies = deque(maxlen=table.integer("samples", 10_000, 1))
        self.ctx = ctx
        self.signer = ctx.keypair.pubkey()
        self.me = core.margin_account_address(self.signer, table.integer("sub_id", 0, 0, 2**16 - 1))
        await ctx.cache.live.wait()
        self.view = VenueView(ctx.cache)
        now = time.monotonic()
        for margin in list(self.view.trading):
            self._track(margin, now)
        self.view.listen(self._on_event)
        ctx.log.info("jit.started", margin_account=str(self.me), spread_bps=self.default.spread_bps, auctions=len(self.seen))
        slot = -1
        try:
            while True:
                if ctx.cache.slot != slot:
                    slot = ctx.cache.slot
                    self._scan(None, time.monotonic())
                await asyncio.sleep(poll)
        finally:
            for task in self._tasks:
                task.cancel()

    def limits(self, market: int) -> Limits | None:
        if self.markets:
            return self.markets.get(market)
        return self.default

    # -- what to make ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.kind == "account":
            self._track(event.key, event.received_at)
            self._scan(event.key, event.received_at)
        elif event.kind == "price":
            self._scan(None, event.received_at)

    def _track(self, margin: Pubkey, at: float) -> None:
        """Notes the account's orders in auction the first time a notification shows them."""
        trading = self.view.trading.get(margin)
        slot = self.ctx.cache.slot
        live = {o.order_id for o in trading.orders if in_auction(o, slot)} if trading is not None and trading.has_open_auction else set()
        for key in [k for k in self.seen if k[0] == margin and k[1] not in live]:
            self._forget(key)
        for order_id in live:
            self.seen.setdefault((margin, order_id), at)

    def _forget(self, key: OrderKey) -> None:
        del self.seen[key]
        self._paused.pop(key, None)
        self._after.pop(key, None)
        self._refused.pop(key, None)

    def _pending_base(self, market: int) -> int:
        """The base of its fills in flight or landed and not yet in the cache."""
        cached = self.ctx.cache.accounts("trading_account").get(trading_address(self.me))
        self._pending = [p for p in self._pending if p.slot is None or cached is None or cached.slot < p.slot]
        return sum(p.base for p in self._pending if p.market == market)

    def _scan(self, only: Pubkey | None, at: float) -> None:
        slot = self.ctx.cache.slot
        for key in list(self.seen):
            margin, order_id = key
            if only is not None and margin != only:
                continue
            trading = self.view.trading.get(margin)
            order = next((o for o in trading.orders if o.order_id == order_id), None) if trading is not None else None
            if order is None or not in_auction(order, slot):
                self._forget(key)
                continue
            self._consider(key, order, slot, at)

    def _consider(self, key: OrderKey, order: Order, slot: int, at: float) -> None:
        work = ("make", *key)
        limits = self.limits(order.market_index)
        if limits is None or key in self._making or self._paused.get(key, 0.0) > time.monotonic():
            return
        cached = self.ctx.cache.accounts("trading_account").get(trading_address(key[0]))
        version = cached.slot if cached is not None else 0
        if version < self._after.get(key, 0):
            return  # the order as the cache holds it is from before our fill, or was gone already
        try:
            make = plan(self.view, self.me, self.signer, key[0], order, slot, limits, self._pending_base(order.market_index))
        except (KeyError, health.HealthError) as exc:  # an input not cached yet
            self.ctx.log.warning("jit.unplannable", margin_account=str(key[0]), order_id=key[1], error=repr(exc))
            return
        if isinstance(make, str):
            reasons = self._refused.setdefault(key, set())
            if make and make not in reasons:
                reasons.add(make)
                self.ctx.metrics.jit_refusals.labels(str(order.market_index), make).inc()
                self.ctx.log.debug("jit.refused", margin_account=str(key[0]), order_id=key[1], reason=make)
            return
        pending = _Pending(order.market_index, -make.size if order.side == Side.BID else make.size)
        self._pending.append(pending)
        self._making.add(key)
        task = asyncio.get_running_loop().create_task(self._make(work, key, make, pending, version, self.seen[key], at))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _make(self, work: tuple[str, Pubkey, int], key: OrderKey, make: Make, pending: _Pending, version: int, seen_at: float,
                    detected_at: float) -> None:
        ctx = self.ctx
        market = make.order.market_index
        try:
            result = await ctx.sender.send(self.name, work, [make.instruction], lost_race=LOST_RACES, detected_at=detected_at)
        finally:
            self._making.discard(key)
        ctx.metrics.jit_fills.labels(str(market), result.outcome.value).inc()
        fields = {"market": market, "taker": str(make.taker), "order_id": make.order.order_id, "size": make.size, "price": make.price,
                  "auction_price": make.auction_price, "outcome": result.outcome.value, "error": result.error,
                  "signature": str(result.signature) if result.signature else None}
        if result.outcome == Outcome.LANDED:
            assert result.slot is not None  # a confirmation's
            pending.slot = result.slot
            if key in self.seen:
                self._after[key] = result.slot
            seconds = time.monotonic() - seen_at
            ctx.metrics.auction_to_fill.labels(str(market)).observe(seconds)
            self.latencies.append(seconds)
            self.fills.append(JitFill(market, make.taker, make.order, make.size, make.price, result.slot, result.signature, seconds))
            ctx.log.info("jit.made", **fields, slot=result.slot, seconds=round(seconds, 4))
            return
        self._pending.remove(pending)
        if result.outcome == Outcome.LOST_RACE:
            if result.error == "OrderNotFound" and key in self.seen:
                self._after[key] = version + 1  # filled or cancelled: not again from the version that still shows it
            ctx.log.info("jit.lost_race", **fields)
        else:  # not at once again: the same fill would fail the same way
            self._paused[key] = time.monotonic() + self.failure_pause_secs
            ctx.log.warning("jit.failed", **fields)
