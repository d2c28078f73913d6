"""Test controls: extra JSON-RPC methods, prefixed `qd_`, that a real cluster does not have.

| method            | params                                   | result                          |
|-------------------|------------------------------------------|---------------------------------|
| `qd_setAccount`   | `[pubkey, {lamports, data, owner, executable?, rentEpoch?}]` | `null` |
| `qd_warpSlot`     | `[slot]` (must be after the current slot) | the new slot                   |
| `qd_setClock`     | `[{unixTimestamp}]`                      | `{slot, unixTimestamp}`         |
| `qd_pauseClock`   | `[]`                                     | `true`                          |
| `qd_resumeClock`  | `[]`                                     | `true`                          |
| `qd_reset`        | `[]`                                     | `true`                          |
| `qd_getClock`     | `[]`                                     | `{slot, blockHeight, unixTimestamp, paused, slotMs}` |

`data` in qd_setAccount takes the forms getAccountInfo returns: `[<base64>, "base64"]`,
`[<base58>, "base58"]` or a bare base58 string; so an account read from any cluster can be
written back unchanged. Writes and warps notify subscribers like committed transactions do.
Time follows slots (slotMs each) from the last qd_setClock, so a warp also moves the clock.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from solders.account import Account

from quantdesk.localnet import codec
from quantdesk.localnet import params as P
from quantdesk.localnet.bank import Bank
from quantdesk.localnet.clock import SlotClock
from quantdesk.localnet.params import invalid_params
from quantdesk.localnet.rpc import Handler


def _account_data(value: Any) -> bytes:
    if isinstance(value, str):
        text, encoding = value, "base58"
    elif isinstance(value, list) and len(value) == 2:
        text = P.want_str(value[0])
        encoding = P.want_enum(value[1], ("base58", "base64"))
    else:
        P.invalid_type(value, "account data as [data, encoding] or a base58 string")
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True)
        return codec.b58decode(text)
    except (binascii.Error, ValueError) as exc:
        raise invalid_params(f"invalid {encoding} account data") from exc


class Controls:
    """The qd_ methods over a bank and its clock."""

    def __init__(self, bank: Bank, clock: SlotClock) -> None:
        self.bank = bank
        self.clock = clock

    def methods(self) -> dict[str, tuple[Handler, int, int]]:
        return {
            "qd_setAccount": (self.set_account, 2, 2),
            "qd_warpSlot": (self.warp_slot, 1, 1),
            "qd_setClock": (self.set_clock, 1, 1),
            "qd_pauseClock": (self.pause_clock, 0, 0),
            "qd_resumeClock": (self.resume_clock, 0, 0),
            "qd_reset": (self.reset, 0, 0),
            "qd_getClock": (self.get_clock, 0, 0),
        }

    def set_account(self, p: list[Any]) -> None:
        key = P.pubkey(p[0])
        fields = P.want_struct(p[1], "Account")
        for name in ("lamports", "data", "owner"):
            if fields.get(name) is None:
                P.serde_error(f"missing field `{name}`")
        account = Account(
            lamports=P.want_uint(fields["lamports"]),
            data=_account_data(fields["data"]),
            owner=P.pubkey(fields["owner"]),
            executable=P.optional_bool(fields, "executable"),
            rent_epoch=P.optional_uint(fields, "rentEpoch") or 0,
        )
        self.bank.set_account(key, account)

    def warp_slot(self, p: list[Any]) -> int:
        slot = P.want_uint(p[0])
        if slot <= self.bank.slot:
            raise invalid_params(f"slot {slot} is not after the current slot {self.bank.slot}")
        return self.bank.warp_to_slot(slot).slot

    def set_clock(self, p: list[Any]) -> dict[str, int]:
        fields = P.want_struct(p[0], "ClockConfig")
        if fields.get("unixTimestamp") is None:
            P.serde_error("missing field `unixTimestamp`")
        unix_timestamp = fields["unixTimestamp"]
        if isinstance(unix_timestamp, bool) or not isinstance(unix_timestamp, int):
            P.invalid_type(unix_timestamp, "i64")
        self.bank.set_unix_timestamp(unix_timestamp)
        return {"slot": self.bank.slot, "unixTimestamp": self.bank.unix_timestamp}

    def pause_clock(self, _: list[Any]) -> bool:
        self.clock.paused = True
        return True

    def resume_clock(self, _: list[Any]) -> bool:
        self.clock.paused = False
        return True

    def reset(self, _: list[Any]) -> bool:
        self.bank.reset()
        return True

    def get_clock(self, _: list[Any]) -> dict[str, Any]:
        return {
            "slot": self.bank.slot,
            "blockHeight": self.bank.block_height,
            "unixTimestamp": self.bank.unix_timestamp,
            "paused": self.clock.paused,
            "slotMs": self.bank.slot_ms,
        }
