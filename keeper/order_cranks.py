"""What the trigger and TWAP bots share: cranking one order of one margin account with one of
qd-trading's permissionless order cranks (`trigger_order`, `crank_twap`), planned from the view.

- The instruction carries the order owner's health list (as place_order's, from the view) and
  the fee account: the trading account of the bot's `fee_margin_account`, or none (no fee).
- One send per order at a time: the sender's work key is (bot, margin account, order id). Sent,
  the order is held (keeper/holds.py) until the cache shows its trading account changed, so a
  confirmation that overtakes the account's notification never sends the crank twice; failed or
  expired, it waits `failure_pause_secs` unless its trading account, market or feed changes.
- Each outcome is counted in the bot's counter by market and outcome and logged as `<bot>.crank`."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter
from quantdesk.clients.trading import health_accounts
from quantdesk.clients.trading_state import Order, market_address, trading_address
from quantdesk.keeper.bots import BotContext
from quantdesk.keeper.holds import Holds
from quantdesk.keeper.params import Table
from quantdesk.keeper.sender import Outcome, SendResult
from quantdesk.keeper.view import VenueView
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

__all__ = ["Build", "OrderCranks", "SENT_HOLD_SECS", "crank_params"]

Build = Callable[[Pubkey, Pubkey, int, Pubkey, Pubkey, int, list[AccountMeta], Pubkey | None], Instruction]
"""TradingInstructions.trigger_order or .crank_twap: (cranker, margin account, market, oracle, quote mint, order id, health, fee account)."""
SENT_HOLD_SECS = 10.0
"""How long a sent crank waits for the cache to show it before its order may be planned again."""


def crank_params(table: Table) -> tuple[Pubkey | None, float]:
    """The parameters both bots take: `fee_margin_account` (optional) and `failure_pause_secs` (default 5)."""
    table.only("fee_margin_account", "failure_pause_secs")
    return table.optional_pubkey("fee_margin_account"), table.number("failure_pause_secs", 5.0)


class OrderCranks:
    def __init__(self, ctx: BotContext, view: VenueView, bot: str, build: Build, lost_race: frozenset[str], outcomes: Counter,
                 fee_margin: Pubkey | None, failure_pause_secs: float, on_landed: Callable[[Order, SendResult], None] | None = None) -> None:
        self.ctx = ctx
        self.view = view
        self.bot = bot
        self.build = build
        self.lost_race = lost_race
        self.outcomes = outcomes
        self.fee_account = trading_address(fee_margin) if fee_margin is not None else None
        self.failure_pause_secs = failure_pause_secs
        self.on_landed = on_landed  # told of each landed crank, with the order as it was planned from
        self.holds = Holds(ctx.cache)
        self._tasks: set[asyncio.Task[None]] = set()

    def crank(self, margin: Pubkey, order: Order, detected_at: float, **fields: Any) -> None:
        """Sends the crank of `margin`'s `order` (as the view holds it) unless it is in flight or held."""
        key = (self.bot, margin, order.order_id)
        if self.ctx.sender.in_flight(key) or self.holds.held(key):
            return
        try:
            instruction = self._instruction(margin, order)
        except KeyError as exc:  # an input (a config, a market) not cached yet: the next event plans it again
            self.ctx.log.warning(f"{self.bot}.unplannable", margin_account=str(margin), order_id=order.order_id, error=repr(exc))
            return
        # Held from now on: the send's task runs later, and another event may plan the same order first.
        self.holds.hold(key, [("trading_account", trading_address(margin))], SENT_HOLD_SECS)
        task = asyncio.get_running_loop().create_task(self._send(key, margin, order, instruction, detected_at, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _instruction(self, margin: Pubkey, order: Order) -> Instruction:
        market = self.view.markets[order.market_index]
        quote = self.view.quote_mint
        if quote is None:
            raise KeyError("the global config")
        state = self.view.health_state(margin, markets=[market.index])
        health = health_accounts(state.balances, state.configs, state.trading, state.markets, market.index)
        return self.build(self.ctx.keypair.pubkey(), margin, market.index, market.oracle, quote, order.order_id, health, self.fee_account)

    async def _send(self, key: tuple[str, Pubkey, int], margin: Pubkey, order: Order, instruction: Instruction, detected_at: float,
                    fields: dict[str, Any]) -> None:
        result = await self.ctx.sender.send(self.bot, key, [instruction], lost_race=self.lost_race, detected_at=detected_at)
        if result.outcome == Outcome.IN_FLIGHT:
            return
        self.outcomes.labels(str(order.market_index), result.outcome.value).inc()
        if result.outcome == Outcome.LANDED and self.on_landed is not None:
            self.on_landed(order, result)
        self.ctx.log.info(f"{self.bot}.crank", margin_account=str(margin), order_id=order.order_id, market=order.market_index,
                          outcome=result.outcome.value, error=result.error, signature=str(result.signature) if result.signature else None,
                          slot=result.slot, detect_to_confirm_ms=round((time.monotonic() - detected_at) * 1_000, 3), **fields)
        if result.outcome in (Outcome.FAILED, Outcome.EXPIRED):
            # Not again at once (it would fail the same way): after the pause, or once what it read changes.
            market = self.view.markets.get(order.market_index)
            inputs = [("trading_account", trading_address(margin)), ("market", market_address(order.market_index))]
            self.holds.hold(key, inputs + ([("feed", market.oracle)] if market is not None else []), self.failure_pause_secs)

    def close(self) -> None:
        """Cancels the sends' tasks (the sender lets those in flight finish)."""
        for task in self._tasks:
            task.cancel()
