"""The trigger bot: fires untriggered orders (stops, take-profits, bracket exits) with qd-trading's
permissionless `trigger_order` once the oracle meets their condition (clients/trading
`trigger_due`: ABOVE at or above the trigger price, BELOW at or below), judged at the view's
oracle price of their market.

It judges, in the view's callbacks: on a price event of a market, the untriggered orders of
that market only (the accounts holding one are indexed by market, the index kept on account
events); on an account event, that account's untriggered orders (a new one may be due at once,
a bracket exit once its entry fills); at start, every account. A bracket exit whose entry still
rests with nothing filled is not sent (the program refuses it: EntryNotFilled), nor an order of
a frozen account (AccountFrozen). Sending, holds and failure pauses: keeper/order_cranks.py.
Lost races: the order fired by someone else (`NotTriggerOrder`), gone (`OrderNotFound`), the
oracle back across its trigger (`TriggerNotDue`). A trigger that lands may still cancel the
order (expired, nothing to reduce, limits, health, price): the program decides, the cache shows.

Metric `quantdesk_keeper_triggers_total{market,outcome}`; log lines `trigger.crank`.

Parameters ([bots.trigger]): fee_margin_account (base58 margin account whose trading account
receives the market's trigger fee; absent: no fee), failure_pause_secs (default 5)."""
from __future__ import annotations

import asyncio
import time

from quantdesk.clients.trading import TradingInstructions, find_order, trigger_due
from quantdesk.clients.trading_state import Order, TradingAccount
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.order_cranks import OrderCranks, crank_params
from quantdesk.keeper.params import Table
from quantdesk.keeper.view import Event, VenueView
from solders.pubkey import Pubkey

__all__ = ["LOST_RACES", "TriggerBot", "waits_for_entry"]

LOST_RACES = frozenset({"NotTriggerOrder", "OrderNotFound", "TriggerNotDue"})
"""qd-trading's trigger_order refusals (idl/qd_trading.json) that mean the order moved on since it was judged."""


def waits_for_entry(account: TradingAccount, order: Order) -> bool:
    """A bracket exit whose entry still rests with nothing filled: it may not fire yet."""
    if not order.is_exit or order.parent_id == 0:
        return False
    entry = find_order(account, order.parent_id)
    return entry is not None and entry.base_filled == 0


class TriggerBot:
    name = "trigger"

    def __init__(self) -> None:
        self.by_market: dict[int, set[Pubkey]] = {}  # the margin accounts holding an untriggered order in each market
        self._markets: dict[Pubkey, frozenset[int]] = {}  # the same, by account

    async def run(self, ctx: BotContext) -> None:
        fee_margin, failure_pause = crank_params(Table(ctx.params, "bots.trigger"))
        await ctx.cache.live.wait()
        self.ctx = ctx
        self.view = VenueView(ctx.cache)
        self.cranks = OrderCranks(ctx, self.view, self.name, TradingInstructions().trigger_order, LOST_RACES, ctx.metrics.triggers, fee_margin,
                                  failure_pause)
        now = time.monotonic()
        for margin in list(self.view.trading):
            self._index(margin)
            self._judge(margin, None, now)
        self.view.listen(self._on_event)
        ctx.log.info("trigger.started", fee_margin_account=str(fee_margin) if fee_margin else None,
                     accounts=len(self._markets), markets=sorted(self.by_market))
        try:
            await asyncio.Event().wait()  # the work is done in the view's callbacks
        finally:
            self.cranks.close()

    def _on_event(self, event: Event) -> None:
        if event.kind == "account":
            self._index(event.key)
            self._judge(event.key, None, event.received_at)
        elif event.kind == "price" and isinstance(event.key, int):  # a market's (a collateral's key is its mint)
            for margin in list(self.by_market.get(event.key, ())):
                self._judge(margin, event.key, event.received_at)

    def _index(self, margin: Pubkey) -> None:
        account = self.view.trading.get(margin)
        markets = frozenset(o.market_index for o in account.orders if o.untriggered) if account is not None and account.has_trigger else frozenset()
        old = self._markets.pop(margin, frozenset())
        for index in old - markets:
            holders = self.by_market[index]
            holders.discard(margin)
            if not holders:
                del self.by_market[index]
        for index in markets - old:
            self.by_market.setdefault(index, set()).add(margin)
        if markets:
            self._markets[margin] = markets

    def _judge(self, margin: Pubkey, market: int | None, at: float) -> None:
        """Sends trigger_order for each of the account's untriggered orders (in `market`, or any) due at the view's price."""
        account = self.view.trading.get(margin)
        owner = self.view.margins.get(margin)
        if account is None or not account.has_trigger or owner is None or owner.frozen:
            return
        for order in account.orders:
            if not order.untriggered or (market is not None and order.market_index != market):
                continue
            price = self.view.market_price(order.market_index)
            if price is None or not trigger_due(order, price) or waits_for_entry(account, order):
                continue
            self.cranks.crank(margin, order, at, trigger_price=order.trigger_price, oracle_price=price)
