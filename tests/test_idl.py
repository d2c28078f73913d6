"""The IDLs in idl/ are generated from the programs' declarations (`make idl`; the cargo test
`committed_idls_are_generated` in tools/idlgen fails when a committed file differs). Here: anchorpy
reads each one, and an error name means one code in every program (a code is one name within a
program; programs' own ranges 6100..6200 overlap, as Anchor's per-program codes do)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from anchorpy import Idl

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ("qd_collateral", "qd_core", "qd_oracle", "qd_security", "qd_trading")


def idl_json(program: str) -> dict[str, object]:
    return json.loads((ROOT / "idl" / f"{program}.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("program", PROGRAMS)
def test_anchorpy_reads_the_idl(program: str) -> None:
    idl = Idl.from_json((ROOT / "idl" / f"{program}.json").read_text())
    assert idl.name == program
    assert idl.instructions and idl.errors


def test_one_code_per_error_name_in_every_program() -> None:
    codes: dict[str, set[int]] = defaultdict(set)
    for program in PROGRAMS:
        errors = idl_json(program)["errors"]
        assert isinstance(errors, list)
        assert len({e["code"] for e in errors}) == len(errors), f"{program}: a code with two names"
        for e in errors:
            codes[e["name"]].add(e["code"])
            assert e["code"] >= 6000 and e["msg"]
    assert {n: c for n, c in codes.items() if len(c) > 1} == {}


def test_every_idl_is_checked() -> None:
    assert {p.stem for p in (ROOT / "idl").glob("*.json")} == set(PROGRAMS)
