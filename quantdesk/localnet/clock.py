"""The slot clock: produces a block every `slot_ms` unless paused."""
from __future__ import annotations

import asyncio
import time

from quantdesk.localnet.bank import Bank


class SlotClock:
    """Drives `Bank.advance_slot()` on a fixed schedule; pausable (test control)."""

    def __init__(self, bank: Bank, paused: bool = False) -> None:
        self.bank = bank
        self.paused = paused
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="slot-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        period = self.bank.slot_ms / 1000
        # A fixed schedule rather than sleep(period) after each slot, so slow iterations do not
        # make the chain drift behind wall time.
        next_tick = time.monotonic() + period
        while True:
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
            next_tick += period
            if next_tick < time.monotonic():  # fell far behind (suspended host): resync
                next_tick = time.monotonic() + period
            if not self.paused:
                self.bank.advance_slot()
