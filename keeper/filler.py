"""The filler bot: once a taker order's auction is over, matches it with `fill_order` against the
best resting maker orders of the book the account cache holds, at the makers' prices.

Takers: orders that ran an auction (market, IOC, FOK, and resting orders that crossed the
oracle), past it (clients/trading `in_auction`), not expired, not post-only, with something
left to fill (a reduce-only order, or an account that may only reduce, only what reduces).
Makers, per market and side, best price first (then oldest): resting priced orders (limit and
oracle-offset, at `maker_price` from the cached oracle price) of the other side that cross the
taker's limit, skipping what `fill_order` would refuse or skip (README: fills):
- its own account and its owner's other accounts (`SelfTrade` would sink the whole fill),
  frozen accounts, accounts without balances;
- orders in their own auction (`OrderInAuction`), expired orders, market orders;
- reduce-only orders, or accounts that may only reduce (limits, a liquidation in progress),
  with nothing to reduce;
- a delegate's or session key's order priced outside the market's `delegated_band_bps` of the
  oracle, or meeting an account its agent controls (the taker's agent likewise);
- a second order of a maker account already in the instruction (its accounts cannot be passed
  twice): the instruction stops there, keeping price priority, and the next pass goes on.
Up to `max_makers` (at most 4) makers an instruction, filling what the taker has left; a FOK
taker only when they fill it whole. Makers planned for one taker are not planned for another in
the same pass (their capacity is spent), and sent work is held until the cache shows its
accounts changed (keeper/holds.py); a failed fill waits `failure_pause_secs` unless its
accounts change.

It plans on every change the cache reports (a trading account, a price) and at least every
`interval_secs` (an auction ends with the clock, which sends no notification). Lost races: the
taker's or a maker's order gone (`OrderNotFound`: cancelled, or filled by someone else), an
auction still running (`AuctionInProgress`, `OrderInAuction`), a FOK taker the makers no longer
fill whole (`FillOrKill`); a fill that lands having matched nothing (the makers stopped crossing,
or the taker expired and was dropped) counts as `no_fill`.

Parameters ([bots.filler]): max_makers (1..=4, default 4), interval_secs (default 0.2),
failure_pause_secs (default 5)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import httpx
from quantdesk.clients import sysvar, trading
from quantdesk.clients.core import MarginAccount
from quantdesk.clients.trading import (
    FLAG_POST_ONLY,
    FLAG_REDUCE_ONLY,
    MAX_MAKERS,
    OrderKind,
    Side,
    TimeInForce,
    TradingInstructions,
    expired,
    health_accounts,
    in_auction,
    maker_price,
    order_session,
)
from quantdesk.clients.trading_state import Order, PerpMarket, trading_address
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.holds import Holds
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import Outcome, SendResult
from quantdesk.keeper.view import Event, VenueView
from solana.exceptions import SolanaRpcException
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature

__all__ = ["FillPlan", "FillerBot", "LOST_RACES", "Maker", "book", "plan", "takers"]

LOST_RACES = frozenset({"OrderNotFound", "AuctionInProgress", "OrderInAuction", "FillOrKill"})
"""qd-trading's fill_order errors (idl/qd_trading.json) that mean the book moved since it was planned."""
RPC_ERRORS = (RPCException, SolanaRpcException, httpx.HTTPError, OSError, LookupError)
SENT_HOLD_SECS = 10.0
"""How long sent work (and the makers it used) waits for the cache to show it before it may be planned again."""
PACKET_BYTES = 1232
"""A transaction's most bytes on the wire."""
BPS = 10_000


@dataclass(frozen=True, slots=True)
class Maker:
    margin: Pubkey
    owner: Pubkey
    order: Order
    price: int
    room: int  # base it may fill now

    @property
    def key(self) -> Hashable:
        return ("maker", self.margin, self.order.order_id)


@dataclass(frozen=True, slots=True)
class FillPlan:
    market: int
    taker: Pubkey
    order: Order
    makers: list[tuple[Maker, int]]  # each with the base planned from it
    instruction: Instruction

    @property
    def key(self) -> Hashable:
        return ("fill", self.taker, self.order.order_id)


def _may_only_reduce(account: MarginAccount) -> bool:
    return account.being_liquidated or account.limits.reduce_only


def _reducible(base: int, bid: bool) -> int:
    """What an order on the bid (ask) side may fill and only reduce a position of `base`."""
    return abs(base) if (bid and base < 0) or (not bid and base > 0) else 0


def _room(view: VenueView, margin: Pubkey, order: Order) -> int:
    """What of `order` may fill now: its remainder (an iceberg: its clip), or what reduces its position where it may only reduce."""
    remaining = order.visible
    account = view.margins[margin]
    if order.flags & FLAG_REDUCE_ONLY or _may_only_reduce(account):
        position = view.trading[margin].position(order.market_index)
        return min(remaining, _reducible(position.base if position is not None else 0, order.side == Side.BID))
    return remaining


def _tradable(view: VenueView, margin: Pubkey) -> bool:
    account = view.margins.get(margin)
    return account is not None and not account.frozen and margin in view.balances and margin in view.trading


def _in_band(price: int, oracle: int, market: PerpMarket) -> bool:
    return abs(price - oracle) <= oracle * market.delegated_band_bps // BPS


def _controls(account: MarginAccount, agent: Pubkey) -> bool:
    """`agent` owns the account or is its delegate."""
    return account.owner == agent or account.delegate == agent


def takers(view: VenueView, slot: int, ts: int) -> list[tuple[Pubkey, Order]]:
    """Orders whose auction is over and that may still fill, oldest first."""
    found = []
    for margin, account in view.trading.items():
        if not account.has_open_order or not _tradable(view, margin):
            continue
        for order in account.orders:
            if order.auction_slots == 0 or in_auction(order, slot) or expired(order, slot, ts) or order.flags & FLAG_POST_ONLY:
                continue
            if order.market_index in view.markets and _room(view, margin, order) > 0:
                found.append((margin, order))
    return sorted(found, key=lambda t: (t[1].placed_slot, t[1].order_id))


def book(view: VenueView, market_index: int, slot: int, ts: int) -> dict[Side, list[Maker]]:
    """The market's resting maker orders that could fill now, per side, best price first (then oldest)."""
    market = view.markets[market_index]
    oracle = view.market_price(market_index)
    sides: dict[Side, list[Maker]] = {Side.BID: [], Side.ASK: []}
    if oracle is None:
        return sides
    for margin, account in view.trading.items():
        if not account.has_open_order or not _tradable(view, margin):
            continue
        for order in account.orders:
            if order.market_index != market_index or order.kind == OrderKind.MARKET or in_auction(order, slot) or expired(order, slot, ts):
                continue
            price = maker_price(order, oracle, market.tick_size)
            room = _room(view, margin, order)
            if price is None or room <= 0 or (order.actor != 0 and not _in_band(price, oracle, market)):
                continue
            sides[Side(order.side)].append(Maker(margin, view.margins[margin].owner, order, price, room))
    sides[Side.BID].sort(key=lambda m: (-m.price, m.order.placed_slot, m.order.order_id))
    sides[Side.ASK].sort(key=lambda m: (m.price, m.order.placed_slot, m.order.order_id))
    return sides


def _fits(ix: Instruction, payer: Pubkey) -> bool:
    """The fill with the sender's compute-budget instructions fits in one packet (a signature)."""
    message = Message([set_compute_unit_limit(0), set_compute_unit_price(0), ix], payer)
    return 1 + 64 + len(bytes(message)) <= PACKET_BYTES


def plan(view: VenueView, signer: Pubkey, taker: Pubkey, order: Order, makers: list[Maker], spent: dict[Hashable, int],
         max_makers: int = MAX_MAKERS) -> FillPlan | None:
    """fill_order of `order` against the best of `makers` (the other side's book, best first) that
    cross its limit, each at most its room less what `spent` (maker key -> base) already took."""
    quote = view.quote_mint
    market = view.markets[order.market_index]
    oracle = view.market_price(order.market_index)
    if quote is None or oracle is None:
        return None
    taker_account = view.margins[taker]
    bid = order.side == Side.BID
    agent = order.signer if order.actor != 0 else None
    left = _room(view, taker, order)
    chosen: list[tuple[Maker, int]] = []
    accounts: set[Pubkey] = set()
    for m in makers:
        if left == 0 or len(chosen) == max_makers:
            break
        if (m.price > order.reserved_price) if bid else (m.price < order.reserved_price):
            break  # best first: none after it crosses the taker's limit
        if m.margin == taker or m.owner == taker_account.owner:
            continue
        if agent is not None and (not _in_band(m.price, oracle, market) or _controls(view.margins[m.margin], agent)):
            continue
        if m.order.actor != 0 and _controls(taker_account, m.order.signer):
            continue
        available = m.room - spent.get(m.key, 0)
        if available <= 0:
            continue
        session = order_session(view.trading[m.margin], m.order.order_id)
        if m.margin in accounts or (session is not None and session in accounts):
            break  # its accounts cannot be passed twice: the rest waits for the next pass, in price order
        size = min(available, left)
        chosen.append((m, size))
        accounts |= {m.margin} | ({session} if session is not None else set())
        left -= size
    if not chosen or (order.tif == TimeInForce.FOK and left > 0):
        return None
    while chosen:
        ix = _instruction(view, signer, taker, order, market, quote, [m for m, _ in chosen])
        if _fits(ix, signer):
            return FillPlan(order.market_index, taker, order, chosen, ix)
        if order.tif == TimeInForce.FOK:
            return None
        chosen.pop()  # the worst maker waits for the next pass
    return None


def _instruction(view: VenueView, signer: Pubkey, taker: Pubkey, order: Order, market: PerpMarket, quote: Pubkey, makers: list[Maker]) -> Instruction:
    def health(margin: Pubkey) -> list[Any]:
        state = view.health_state(margin, markets=[market.index])
        return health_accounts(state.balances, state.configs, state.trading, state.markets, market.index)

    return TradingInstructions().fill_order(
        signer, taker, market.index, market.oracle, quote, order.order_id, [(m.margin, m.order.order_id) for m in makers], health(taker),
        [health(m.margin) for m in makers], order_session(view.trading[taker], order.order_id),
        [order_session(view.trading[m.margin], m.order.order_id) for m in makers])


class FillerBot:
    name = "filler"

    def __init__(self) -> None:
        self.passes = 0  # planning passes made (tests wait on it)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[SendResult]] = set()

    def _params(self, params: dict[str, Any]) -> None:
        table = Table(params, "bots.filler")
        table.only("max_makers", "interval_secs", "failure_pause_secs")
        self.max_makers = table.integer("max_makers", MAX_MAKERS, low=1, high=MAX_MAKERS)
        self.interval = table.number("interval_secs", 0.2, above=True)
        self.failure_pause = table.number("failure_pause_secs", 5.0)

    def _on_event(self, event: Event) -> None:
        if event.kind in ("account", "price", "market"):
            self._wake.set()

    def prepare(self, ctx: BotContext) -> None:
        """Reads the parameters and builds the view of the (live) cache: what `run` plans and sends with."""
        self._params(ctx.params)
        self.log = ctx.log
        self.view = VenueView(ctx.cache)
        self.holds = Holds(ctx.cache)
        self.view.listen(self._on_event)

    async def run(self, ctx: BotContext) -> None:
        self._params(ctx.params)  # a bad table fails at once, not once the cache is live
        await ctx.cache.live.wait()
        self.prepare(ctx)
        ctx.log.info("filler.started", max_makers=self.max_makers, interval_secs=self.interval)
        try:
            while True:
                self._wake.clear()
                await self._pass(ctx)
                try:
                    await asyncio.wait_for(self._wake.wait(), self.interval)
                except TimeoutError:
                    pass
        finally:
            for task in self._tasks:
                task.cancel()

    async def _pass(self, ctx: BotContext) -> None:
        self.passes += 1
        # The cache's slot (a notification behind at most) finds the candidates; the clock, read
        # only when there are some, judges them exactly.
        if not takers(self.view, ctx.cache.slot, 0):
            return
        try:
            clock = await sysvar.fetch_clock(ctx.rpc)
        except RPC_ERRORS as exc:
            ctx.log.warning("filler.clock_error", error=repr(exc))
            return
        for fill in self.plan(ctx.keypair.pubkey(), clock.slot, clock.unix_timestamp, ctx.sender.in_flight):
            task = asyncio.create_task(self.send(ctx, fill))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def plan(self, signer: Pubkey, slot: int, ts: int, in_flight: Callable[[Hashable], bool] = lambda _: False) -> list[FillPlan]:
        """This pass's fills: each taker not in flight or held, against makers not spent by an
        earlier taker of the pass or held by a fill in flight."""
        books: dict[int, dict[Side, list[Maker]]] = {}
        spent: dict[Hashable, int] = {}
        plans = []
        for taker, order in takers(self.view, slot, ts):
            key = ("fill", taker, order.order_id)
            if in_flight(key) or self.holds.held(key):
                continue
            if order.market_index not in books:
                books[order.market_index] = book(self.view, order.market_index, slot, ts)
            side = [m for m in books[order.market_index][Side(order.side).opposite] if not self.holds.held(m.key)]
            try:
                fill = plan(self.view, signer, taker, order, side, spent, self.max_makers)
            except KeyError as exc:  # an account's config or market is not cached (yet): the next pass
                self.log.warning("filler.unplannable", taker=str(taker), order_id=order.order_id, error=repr(exc))
                continue
            if fill is None:
                continue
            for m, size in fill.makers:
                spent[m.key] = spent.get(m.key, 0) + size
            plans.append(fill)
        return plans

    async def send(self, ctx: BotContext, fill: FillPlan) -> SendResult:
        """Sends one planned fill, holding its taker and makers until the cache shows what it did."""
        taker = ("trading_account", trading_address(fill.taker))
        makers = [(m, ("trading_account", trading_address(m.margin))) for m, _ in fill.makers]
        self.holds.hold(fill.key, [taker], SENT_HOLD_SECS)
        for m, account in makers:
            self.holds.hold(m.key, [account], SENT_HOLD_SECS)
        result = await ctx.sender.send(self.name, fill.key, [fill.instruction], lost_race=LOST_RACES, detected_at=time.monotonic())
        outcome = result.outcome.value
        filled: int | None = None
        if result.outcome == Outcome.LANDED and result.signature is not None:
            filled = await self._filled(ctx, result.signature)
            outcome = "no_fill" if filled == 0 else outcome
            if filled:
                ctx.metrics.filled_base.labels(str(fill.market)).inc(filled)
        if result.outcome != Outcome.IN_FLIGHT:
            ctx.metrics.fills.labels(outcome).inc()
        ctx.log.info("filler.fill", market=fill.market, taker=str(fill.taker), order_id=fill.order.order_id, outcome=outcome, error=result.error,
                     makers=[{"margin_account": str(m.margin), "order_id": m.order.order_id, "price": m.price, "base": size} for m, size in fill.makers],
                     filled=filled, signature=str(result.signature) if result.signature else None)
        if result.outcome in (Outcome.FAILED, Outcome.EXPIRED):
            # The taker not again at once (the same fill would fail the same way): after a pause,
            # or when its accounts change; the makers may fill other takers meanwhile.
            self.holds.hold(fill.key, [taker, *(a for _, a in makers)], self.failure_pause)
            for m, _ in fill.makers:
                self.holds.release(m.key)
        return result

    async def _filled(self, ctx: BotContext, signature: Signature) -> int | None:
        """The base the landed transaction filled, from its Fill events (None when its logs cannot be read)."""
        try:
            resp = await ctx.rpc.get_transaction(signature, "json", Confirmed, max_supported_transaction_version=0)
        except RPC_ERRORS as exc:
            ctx.log.warning("filler.logs_error", signature=str(signature), error=repr(exc))
            return None
        meta = resp.value.transaction.meta if resp.value is not None else None
        if meta is None:
            return None
        events = trading.parse_events(list(meta.log_messages or []))
        return sum(int(e.data.base) for e in events if e.name == "Fill")
