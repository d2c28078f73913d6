"""Decoding without a validator: log walking (top-level instruction and event indexes, events of
programs reached by CPI), field conversion, and the typed tables' field mapping checked against
every event of idl/*.json."""
from __future__ import annotations

import base64
import json
from typing import Any

from quantdesk.clients import idl

from quantdesk.indexer.decode import decode_transaction
from quantdesk.indexer.schema import TYPED

TRADING, COLLATERAL = str(idl.program_id("qd_trading")), str(idl.program_id("qd_collateral"))
A, B = "11111111111111111111111111111112", "SysvarC1ock11111111111111111111111111111111"


def data(program: str, name: str, fields: dict[str, Any]) -> str:
    layout = idl.program(program).coder.events.layouts[name]
    return "Program data: " + base64.b64encode(idl.discriminator("event", name) + layout.build(fields)).decode()


def idl_events() -> dict[str, set[str]]:
    """Event name -> its snake_case field names, over every IDL."""
    found = {}
    for path in sorted(idl.IDL_DIR.glob("*.json")):
        doc = json.loads(path.read_text())
        types = {t["name"]: t for t in doc.get("types", [])}
        for event in doc.get("events", []):
            fields = event.get("fields") or types[event["name"]]["type"]["fields"]
            found[event["name"]] = {"".join("_" + c.lower() if c.isupper() else c for c in f["name"]) for f in fields}
    return found


def test_events_are_placed_by_top_level_instruction_including_cpi_ones() -> None:
    fill = {"fill_id": 1, "market_index": 0, "taker": idl.program_id("qd_core"), "taker_order_id": 2, "maker": idl.program_id("qd_core"),
            "maker_order_id": 3, "taker_side": 1, "price": 5, "base": 6, "quote": -7, "taker_fee": 8, "maker_fee": -9, "slot": 10, "ts": 11}
    moved = {"margin_account": idl.program_id("qd_core"), "mint": idl.program_id("qd_core"), "caller": idl.program_id("qd_core"), "delta": -3,
             "balance": 2**62, "protocol_balance": 0, "slot": 1, "seq": 2**64 - 1}
    logs = [f"Program {TRADING} invoke [1]", "Program log: Instruction: Fill", data("qd_trading", "Fill", fill),
            f"Program {COLLATERAL} invoke [2]", data("qd_collateral", "BalanceAdjusted", moved), f"Program {COLLATERAL} success",
            f"Program {TRADING} consumed 1 of 2 compute units", f"Program {TRADING} success",
            f"Program {A} invoke [1]", "Program data: AAAA", f"Program {A} success",
            f"Program {TRADING} invoke [1]", data("qd_trading", "Fill", fill), f"Program {TRADING} failed: custom program error: 0x1770"]
    tx = {"slot": 7, "blockTime": 1_700_000_000, "transaction": {"signatures": ["sig"], "message": {"accountKeys": [B, A]}},
          "meta": {"err": None, "logMessages": logs}}
    d = decode_transaction(tx)
    assert [(e.ix_index, e.event_index, e.program, e.name) for e in d.events] == [
        (0, 0, "qd_trading", "Fill"), (0, 1, "qd_collateral", "BalanceAdjusted"), (2, 0, "qd_trading", "Fill")]
    assert d.signer == B and d.block_time_us == 1_700_000_000 * 1_000_000 and d.programs == ["qd_trading", "qd_collateral"]
    assert d.events[0].fields["taker"] == str(idl.program_id("qd_core")) and d.events[1].fields["seq"] == 2**64 - 1


def test_every_typed_column_reads_a_field_of_one_of_its_events() -> None:
    fields = idl_events()
    for typed in TYPED:
        assert typed.kinds <= fields.keys(), typed.table.name
        for column, paths in typed.sources.items():
            assert any(path.split(".")[0] in fields[kind] for kind in typed.kinds for path in paths), (typed.table.name, column)


def test_a_keyword_field_keeps_its_idl_name() -> None:
    # qd-collateral's Transferred has a field "from"; anchorpy names it "from_".
    from types import SimpleNamespace

    from quantdesk.indexer.decode import plain
    assert plain(SimpleNamespace(from_=1, to=2)) == {"from": 1, "to": 2}
