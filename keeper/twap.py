"""The TWAP bot: places each TWAP's slices on schedule with qd-trading's permissionless
`crank_twap`, the moment they fall due.

A TWAP parent's next slice is due at a slot when clients/trading `slices_due` (the program's
schedule: the first at placement, one more every `interval_slots`) exceeds its `slices_done`,
i.e. from its `next_due_slot` on. The bot judges every account holding a TWAP parent (indexed on
account events) on every slot notification the cache hears (keeper/cache.py `on_slot`), and an
account at once on its own account event (a new TWAP's first slice is due at its placement).
Sending, holds and failure pauses: keeper/order_cranks.py. Slices are IOC market orders with an
auction: the JIT maker and the filler fill them. Lost races: the slice placed by someone else
(`SliceNotDue`), the TWAP gone (`OrderNotFound`: finished or cancelled).

Metrics `quantdesk_keeper_twap_slices_total{market,outcome}` and
`quantdesk_keeper_twap_slice_delay_slots{market}` (from the slice's due slot to the slot its
crank landed in); log lines `twap.crank`.

Parameters ([bots.twap]): fee_margin_account (base58 margin account whose trading account
receives the market's slice fee; absent: no fee), failure_pause_secs (default 5)."""
from __future__ import annotations

import asyncio
import time

from quantdesk.clients.trading import TradingInstructions, slices_due
from quantdesk.clients.trading_state import Order
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.order_cranks import OrderCranks, crank_params
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import SendResult
from quantdesk.keeper.view import Event, VenueView
from solders.pubkey import Pubkey

__all__ = ["LOST_RACES", "TwapBot"]

LOST_RACES = frozenset({"SliceNotDue", "OrderNotFound"})
"""qd-trading's crank_twap refusals (idl/qd_trading.json) that mean the slice or the TWAP moved on since it was judged."""


class TwapBot:
    name = "twap"

    def __init__(self) -> None:
        self.running: set[Pubkey] = set()  # the margin accounts holding a TWAP parent

    async def run(self, ctx: BotContext) -> None:
        fee_margin, failure_pause = crank_params(Table(ctx.params, "bots.twap"))
        await ctx.cache.live.wait()
        self.ctx = ctx
        self.view = VenueView(ctx.cache)
        self.cranks = OrderCranks(ctx, self.view, self.name, TradingInstructions().crank_twap, LOST_RACES, ctx.metrics.twap_slices, fee_margin,
                                  failure_pause, self._landed)
        for margin in list(self.view.trading):
            self._index(margin)
        self.view.listen(self._on_event)
        ctx.cache.on_slot(self._on_slot)
        ctx.log.info("twap.started", fee_margin_account=str(fee_margin) if fee_margin else None, accounts=len(self.running))
        self._on_slot(ctx.cache.slot)
        try:
            await asyncio.Event().wait()  # the work is done in the cache's and the view's callbacks
        finally:
            self.cranks.close()

    def _on_event(self, event: Event) -> None:
        if event.kind == "account":
            self._index(event.key)
            self._judge(event.key, self.ctx.cache.slot, event.received_at)

    def _on_slot(self, slot: int) -> None:
        now = time.monotonic()
        for margin in list(self.running):
            self._judge(margin, slot, now)

    def _index(self, margin: Pubkey) -> None:
        account = self.view.trading.get(margin)
        if account is not None and account.has_trigger and any(o.is_twap for o in account.orders):
            self.running.add(margin)
        else:
            self.running.discard(margin)

    def _judge(self, margin: Pubkey, slot: int, at: float) -> None:
        """Sends crank_twap for each of the account's TWAPs with a slice due at `slot`."""
        account = self.view.trading.get(margin)
        owner = self.view.margins.get(margin)
        if account is None or owner is None or owner.frozen:
            return
        for parent in account.orders:
            if parent.is_twap and slices_due(parent, slot) > parent.slices_done:
                self.cranks.crank(margin, parent, at, due_slot=parent.next_due_slot, slices_done=parent.slices_done, slices=parent.slices)

    def _landed(self, parent: Order, result: SendResult) -> None:
        if result.slot is not None:  # a confirmation's
            self.ctx.metrics.twap_slice_delay.labels(str(parent.market_index)).observe(result.slot - parent.next_due_slot)
