"""Holds each IDL equal to the Rust it describes: error codes/names/messages (the `/// msg` doc of
each enum variant), instruction and event names (the names the Rust discriminators are computed
from). Account layouts are checked byte for byte by each program's `idl_layout` cargo test."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from anchorpy import Idl

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_ERRORS = ("crates/qd-runtime/src/error.rs", "RuntimeError")
READER_ERRORS = ("crates/qd-oracle-reader/src/error.rs", "OracleError")
ACCESS_ERRORS = ("crates/qd-access/src/error.rs", "AccessError")
HEALTH_ERRORS = ("crates/qd-health/src/error.rs", "HealthError")
COLLATERAL_READ_ERRORS = ("crates/qd-collateral-state/src/error.rs", "CollateralStateError")

# program -> (source dirs holding its instruction/event discriminators, error enums it can return,
# in IDL order). qd-core's `set_frozen` discriminator lives in qd-core-state, shared with the
# qd-security CPI that invokes it; qd-collateral's `adjust_balance` in qd-collateral-state, shared with
# its CPI callers; qd-security's `record_session_fill` in qd-access, shared with qd-trading's CPI.
PROGRAMS = {
    "qd_oracle": (["programs/qd-oracle/src"], [RUNTIME_ERRORS, READER_ERRORS, ACCESS_ERRORS, ("programs/qd-oracle/src/error.rs", "OracleProgramError")]),
    "qd_security": (["programs/qd-security/src", "crates/qd-access/src"], [RUNTIME_ERRORS, ACCESS_ERRORS, ("programs/qd-security/src/error.rs", "SecurityError")]),
    "qd_collateral": (
        ["programs/qd-collateral/src", "crates/qd-collateral-state/src"],
        [RUNTIME_ERRORS, READER_ERRORS, ACCESS_ERRORS, HEALTH_ERRORS, COLLATERAL_READ_ERRORS, ("programs/qd-collateral/src/error.rs", "CollateralError")],
    ),
    "qd_core": (["programs/qd-core/src", "crates/qd-core-state/src"], [RUNTIME_ERRORS, ACCESS_ERRORS, ("programs/qd-core/src/error.rs", "CoreError")]),
    "qd_trading": (
        ["programs/qd-trading/src"],
        [RUNTIME_ERRORS, READER_ERRORS, ACCESS_ERRORS, HEALTH_ERRORS, COLLATERAL_READ_ERRORS, ("programs/qd-trading/src/error.rs", "TradingError")],
    ),
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def rust_discriminator_names(src_dirs: list[str], namespace: str) -> set[str]:
    text = "".join(p.read_text() for d in src_dirs for p in sorted((ROOT / d).glob("*.rs")))
    return set(re.findall(rf'discriminator\("{namespace}", "(\w+)"\)', text))


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_errors_match_rust_enums(program: str, rust_errors: Callable[[str, str], list[dict[str, object]]]) -> None:
    idl = json.loads((ROOT / "idl" / f"{program}.json").read_text())
    expected = [e for path, enum in PROGRAMS[program][1] for e in rust_errors(path, enum)]
    assert expected, "no errors parsed from the Rust enums"
    assert idl["errors"] == expected
    codes = [e["code"] for e in expected]
    assert len(codes) == len(set(codes)), "duplicate error codes"
    assert min(codes) >= 6000


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_instruction_and_event_names_match_rust(program: str) -> None:
    idl = json.loads((ROOT / "idl" / f"{program}.json").read_text())
    src_dirs = PROGRAMS[program][0]
    assert {snake(i["name"]) for i in idl["instructions"]} == rust_discriminator_names(src_dirs, "global")
    assert {e["name"] for e in idl.get("events", [])} == rust_discriminator_names(src_dirs, "event")


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_anchorpy_reads_the_idl(program: str) -> None:
    idl = Idl.from_json((ROOT / "idl" / f"{program}.json").read_text())
    assert idl.name == program


def test_every_idl_is_checked() -> None:
    assert {p.stem for p in (ROOT / "idl").glob("*.json")} == set(PROGRAMS)
