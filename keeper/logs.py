"""Structured logs: one JSON object a line on stderr, `{"ts", "level", "event", ...fields}`."""
from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

__all__ = ["Log"]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class Log:
    def __init__(self, stream: TextIO | None = None, level: str = "info") -> None:
        self.stream = stream
        self.threshold = _LEVELS[level]

    def emit(self, level: str, event: str, **fields: Any) -> None:
        if _LEVELS[level] < self.threshold:
            return
        record = {"ts": round(time.time(), 3), "level": level, "event": event, **fields}
        stream = self.stream or sys.stderr
        stream.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        stream.flush()

    def debug(self, event: str, **fields: Any) -> None:
        self.emit("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self.emit("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.emit("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.emit("error", event, **fields)
