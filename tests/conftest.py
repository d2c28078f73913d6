"""Fixtures every test module may ask for (the world itself is quantdesk.world)."""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RustErrors = Callable[[str, str], list[dict[str, object]]]
"""(source path, enum name) -> the enum's variants as IDL errors: code, name, message."""


def read_rust_errors(path: str, enum: str) -> list[dict[str, object]]:
    """The variants of Rust error enum `enum` in workspace file `path`: `/// msg` doc, name and code."""
    source = (ROOT / path).read_text()
    body = source.split(f"pub enum {enum} {{", 1)[1].split("\n}", 1)[0]
    return [{"code": int(code), "name": name, "msg": msg} for msg, name, code in re.findall(r"/// (.*)\n\s+(\w+) = (\d+),", body)]


@pytest.fixture
def rust_errors() -> RustErrors:
    """Reads a Rust error enum's variants, as the IDLs must list them."""
    return read_rust_errors
