"""Exponential backoff, capped: the delays before successive retries of one failing operation."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(slots=True)
class Backoff:
    initial: float = 0.1
    cap: float = 5.0
    factor: float = 2.0
    attempts: int = 0

    def next(self) -> float:
        """The delay before the next attempt: initial, initial*factor, ... up to cap."""
        delay = min(self.cap, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return delay

    def reset(self) -> None:
        self.attempts = 0
