"""Surveillance records from the indexer's store: the `events` table's rows (each event's fields
as JSON, snake_case names as in the IDL) of the kinds the detectors read, up to a time."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from solders.pubkey import Pubkey
from sqlalchemy import Engine, select

from quantdesk.indexer.schema import events
from quantdesk.surveillance import Records
from quantdesk.surveillance.records import Fill, FundingCrank, Liquidation, OraclePrice, OrderEvent, Ownership, Ref, SessionKey, Transfer

__all__ = ["load"]

KINDS = ("MarketCreated", "Fill", "OrderPlaced", "OrderCancelled", "PricePublished", "FundingUpdated", "PerpLiquidated", "CollateralLiquidated",
         "MarginAccountCreated", "DelegateChanged", "SessionCreated", "Transferred")
USER_CANCEL = 0


def _rows(engine: Engine, until_us: int | None) -> Iterator[tuple[Ref, int, int, str, dict[str, Any]]]:
    query = select(events.c.signature, events.c.ix_index, events.c.event_index, events.c.slot, events.c.block_time_us, events.c.kind,
                   events.c.fields).where(events.c.kind.in_(KINDS)).order_by(events.c.seq)
    if until_us is not None:
        query = query.where(events.c.block_time_us <= until_us)
    with engine.connect() as c:
        for sig, ix, ev, slot, time_us, kind, fields in c.execute(query):
            yield Ref(sig, ix, ev), slot, time_us or 0, kind, json.loads(fields)


def load(engine: Engine, until_us: int | None = None) -> Records:
    r = Records()
    feeds: dict[str, int] = {}  # a market's oracle account -> its index
    key = Pubkey.from_string
    for ref, slot, ts, kind, f in _rows(engine, until_us):
        if kind == "MarketCreated":
            feeds[f["oracle"]] = f["index"]
        elif kind == "Fill":
            r.fills.append(Fill(ref, slot, ts, f["market_index"], key(f["taker"]), key(f["maker"]), f["taker_side"], f["price"], f["base"],
                                f["taker_order_id"], f["maker_order_id"]))
        elif kind == "OrderPlaced":
            o = f["order"]
            r.orders.append(OrderEvent(ref, slot, ts, key(f["margin_account"]), o["order_id"], o["market_index"], o["side"], True, o["base_size"],
                                       o["reserved_price"]))
        elif kind == "OrderCancelled" and f["reason"] == USER_CANCEL:
            r.orders.append(OrderEvent(ref, slot, ts, key(f["margin_account"]), f["order_id"], f["market_index"], f["side"], False, f["remaining"]))
        elif kind == "PricePublished" and f["feed"] in feeds:
            r.prices.append(OraclePrice(ref, slot, ts, feeds[f["feed"]], f["agg_price"] or f["price"], key(f["publisher"])))
        elif kind == "FundingUpdated":
            r.cranks.append(FundingCrank(ref, slot, ts, f["market_index"]))
        elif kind in ("PerpLiquidated", "CollateralLiquidated"):
            r.liquidations.append(Liquidation(ref, slot, ts, f["market_index"], key(f["liquidator"]), key(f["margin_account"])))
        elif kind == "MarginAccountCreated":
            r.ownerships.append(Ownership(ref, key(f["margin_account"]), key(f["owner"])))
        elif kind == "DelegateChanged" and f["new"] != str(Pubkey.default()):
            r.ownerships.append(Ownership(ref, key(f["margin_account"]), key(f["new"]), delegate=True))
        elif kind == "SessionCreated":
            r.sessions.append(SessionKey(ref, key(f["owner"]), key(f["session_key"])))
        elif kind == "Transferred":
            r.transfers.append(Transfer(ref, key(f["from"]), key(f["to"]), f["amount"]))
    return r
