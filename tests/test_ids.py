"""Holds crates/qd-ids (the ids and singleton PDAs compiled into the programs) equal to Anchor.toml,
the IDLs' metadata and addresses derived here with solders."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

ROOT = Path(__file__).resolve().parents[1]
SOURCE = (ROOT / "crates/qd-ids/src/lib.rs").read_text()
KEYS = {name: Pubkey.from_string(value) for name, value in re.findall(r'pub const (\w+): Pubkey = pubkey\("(\w+)"\);', SOURCE)}
BUMPS = {name: int(value) for name, value in re.findall(r"pub const (\w+)_BUMP: u8 = (\d+);", SOURCE)}

# constant -> (seeds, program constant)
PDAS = {
    "SECURITY_CONFIG": ([b"security"], "QD_SECURITY"),
    "SECURITY_AUTHORITY": ([b"authority"], "QD_SECURITY"),
    "CORE_GLOBAL": ([b"global"], "QD_CORE"),
    "CORE_AUTHORITY": ([b"authority"], "QD_CORE"),
    "TRADING_AUTHORITY": ([b"authority"], "QD_TRADING"),
    "COLLATERAL_AUTHORITY": ([b"authority"], "QD_COLLATERAL"),
}


def test_program_ids_match_anchor_toml() -> None:
    programs = tomllib.loads((ROOT / "Anchor.toml").read_text())["programs"]["localnet"]
    assert {name: Pubkey.from_string(v) for name, v in programs.items()} == {
        name.lower(): KEYS[name.upper()] for name in programs
    }


def test_idl_metadata_addresses_match() -> None:
    for path in (ROOT / "idl").glob("*.json"):
        address = json.loads(path.read_text())["metadata"]["address"]
        assert Pubkey.from_string(address) == KEYS[path.stem.upper()], path.name


@pytest.mark.parametrize("name", sorted(PDAS))
def test_singleton_pdas_are_canonical(name: str) -> None:
    seeds, program = PDAS[name]
    assert Pubkey.find_program_address(seeds, KEYS[program]) == (KEYS[name], BUMPS[name])


def test_every_pda_constant_is_checked() -> None:
    assert set(BUMPS) == set(PDAS)
