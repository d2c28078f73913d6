"""The x87 FPU state LiteSVM leaves behind. Executing SBF transactions leaves all eight x87
registers tagged in use in the calling thread (tag word 0x5655 after `Venue().trader()`), so the
next x87 push overflows the stack and yields NaN: numpy's long-double paths then fail
(matplotlib's tick locators raise "arange: cannot compute length"; float reprs change). SSE double
math is unaffected. Code that plots in a process that ran LiteSVM (tests, `make demo`) clears the
state first with `emms`, which marks every x87 register empty."""
from __future__ import annotations

import ctypes
import mmap
import platform
from collections.abc import Callable
from functools import cache

__all__ = ["clear_x87"]


@cache
def _emms() -> tuple[mmap.mmap, Callable[[], None]] | None:
    """An `emms; ret` stub in an executable page (kept with it: the page must stay mapped)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(b"\x0f\x77\xc3")  # emms; ret
    return page, ctypes.CFUNCTYPE(None)(ctypes.addressof(ctypes.c_char.from_buffer(page)))


def clear_x87() -> None:
    """Marks every x87 register empty in this thread (nothing on other machines)."""
    stub = _emms()
    if stub is not None:
        stub[1]()
