"""The programs' Anchor IDLs (idl/*.json, the contract between chain and clients) as anchorpy objects."""
from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from anchorpy import EventParser, Idl, Program, Provider
from anchorpy.program.common import Event
from construct import Container
from solders.pubkey import Pubkey

__all__ = ["BPF_LOADER_UPGRADEABLE", "IDL_DIR", "LOCALNET_URL", "decode_account", "discriminator", "error_codes", "error_name", "errors", "load_idl",
           "parse_events", "program", "program_data_address", "program_id", "program_names"]



IDL_DIR = Path(__file__).resolve().parents[1] / "idl"
LOCALNET_URL = "http://127.0.0.1:8899"
BPF_LOADER_UPGRADEABLE = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")


@cache
def load_idl(name: str) -> Idl:
    """The IDL of program `name` (e.g. "qd_oracle")."""
    return Idl.from_json((IDL_DIR / f"{name}.json").read_text())


def program_id(name: str) -> Pubkey:
    """The program id recorded in the IDL's metadata (the localnet id of Anchor.toml)."""
    metadata = json.loads((IDL_DIR / f"{name}.json").read_text())["metadata"]
    return Pubkey.from_string(metadata["address"])


def discriminator(namespace: str, name: str) -> bytes:
    """Anchor's discriminator sha256("<namespace>:<name>")[:8] ("global" instructions, "account"
    types, "event"s), as qd_runtime::hash::discriminator computes it on-chain."""
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:8]


def decode_account(prog: Program, type_name: str, data: bytes) -> Container[Any]:
    """Account data of IDL type `type_name`; `ValueError` for any other type. (anchorpy's decoder
    picks whichever type the discriminator names, so the expected type is checked first.)"""
    if data[:8] != discriminator("account", type_name):
        raise ValueError(f"account data is not a {type_name}")
    return prog.coder.accounts.decode(data)


def program_data_address(program_id: Pubkey) -> Pubkey:
    """The ProgramData account of an upgradeable program (holds its upgrade authority, which the
    programs' `initialize` checks)."""
    return Pubkey.find_program_address([bytes(program_id)], BPF_LOADER_UPGRADEABLE)[0]


def program(name: str, provider: Provider | None = None) -> Program:
    """An anchorpy Program for `name`. Without a provider: one shared read-only Program (for
    instruction building and decoding; it never connects); pass a Provider to send transactions."""
    if provider is None:
        return _readonly_program(name)
    return Program(load_idl(name), program_id(name), provider)


@cache
def _readonly_program(name: str) -> Program:
    return Program(load_idl(name), program_id(name), Provider.readonly(LOCALNET_URL))


def parse_events(prog: Program, logs: list[str]) -> list[Event]:
    """`prog`'s Anchor events in a transaction's logs, in order (CPI'd programs' events are
    skipped: anchorpy attributes each `Program data:` line to the program running)."""
    events: list[Event] = []
    EventParser(prog.program_id, prog.coder).parse_logs(logs, events.append)
    return events


@cache
def program_names() -> dict[Pubkey, str]:
    """Program id -> IDL name, for every IDL in idl/."""
    return {program_id(path.stem): path.stem for path in sorted(IDL_DIR.glob("*.json"))}


@cache
def errors(name: str) -> dict[int, tuple[str, str]]:
    """Custom error code -> (name, message) for program `name`, from its IDL's `errors` array."""
    return {e["code"]: (e["name"], e.get("msg", e["name"])) for e in json.loads((IDL_DIR / f"{name}.json").read_text())["errors"]}


@cache
def error_codes(name: str) -> dict[str, int]:
    """Custom error name -> code for program `name`, from its IDL."""
    return {error: code for code, (error, _) in errors(name).items()}


def error_name(name: str, code: int) -> str:
    """The name of custom error `code` of program `name` ("Custom(<code>)" when unknown)."""
    entry = errors(name).get(code)
    return entry[0] if entry is not None else f"Custom({code})"
