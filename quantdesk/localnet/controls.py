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
| `qd_dropWebsockets` | `[]`                                   | the number of PubSub connections closed |
| `qd_failRequests` | `[n]`                                    | `n`                             |
| `qd_stallRequests` | `[n, ms, method?]`                      | `n`                             |
| `qd_muteNotifications` | `[muted]` (bool)                    | `muted`                         |

`data` in qd_setAccount takes the forms getAccountInfo returns: `[<base64>, "base64"]`,
`[<base58>, "base58"]` or a bare base58 string; so an account read from any cluster can be
written back unchanged. Writes and warps notify subscribers like committed transactions do.
Time follows slots (slotMs each) from the last qd_setClock, so a warp also moves the clock.

Faults, for keepers' tests: qd_dropWebsockets aborts every PubSub connection at once (the TCP
connection is cut, no close frame: what a client sees when a node or a load balancer goes away);
qd_failRequests makes the next n JSON-RPC requests over HTTP other than `qd_*` answer
`{"code": -32603, "message": "Internal error (qd_failRequests)"}` (each request of a batch counts
one; a further call replaces the count); qd_stallRequests makes the next n such requests (only
those calling `method`, when given) answered `ms` milliseconds late (at most MAX_STALL_MS): each
is executed at once, as a node does, and only its answer waits, so a client that times out may
not learn that a transaction it sent was accepted. A batch with a stalled request waits as one
HTTP answer; requests behind it on its connection wait too (HTTP/1.1 answers in order), other
connections are served meanwhile; a further call replaces the count. A request may be both
stalled and failed. qd_muteNotifications(true) withholds account, program,
logs and signature notifications (dropped, not delayed; a signature subscription still ends with
its transaction) while subscriptions and slot notifications carry on: a silent websocket, which
only a reconcile (or a getSignatureStatuses check) can catch.
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
from quantdesk.localnet.params import RpcError, invalid_params
from quantdesk.localnet.pubsub import PubSub
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


MAX_STALL_MS = 60_000
"""Longer than any client's timeout: a longer stall would only hold a connection open."""


class Controls:
    """The qd_ methods over a bank, its clock and its PubSub."""

    def __init__(self, bank: Bank, clock: SlotClock, pubsub: PubSub) -> None:
        self.bank = bank
        self.clock = clock
        self.pubsub = pubsub
        self.failing = 0  # requests qd_failRequests still has to fail
        self.stalling = 0  # requests qd_stallRequests still has to stall
        self.stall_ms = 0
        self.stall_method: str | None = None  # None: any non-qd_ method
        self.rpc_methods: frozenset[str] = frozenset()  # what qd_stallRequests may name (set once the handlers exist)
        self._delay = 0.0  # seconds the HTTP answer being built must wait

    def methods(self) -> dict[str, tuple[Handler, int, int]]:
        return {
            "qd_setAccount": (self.set_account, 2, 2),
            "qd_warpSlot": (self.warp_slot, 1, 1),
            "qd_setClock": (self.set_clock, 1, 1),
            "qd_pauseClock": (self.pause_clock, 0, 0),
            "qd_resumeClock": (self.resume_clock, 0, 0),
            "qd_reset": (self.reset, 0, 0),
            "qd_getClock": (self.get_clock, 0, 0),
            "qd_dropWebsockets": (self.drop_websockets, 0, 0),
            "qd_failRequests": (self.fail_requests, 1, 1),
            "qd_stallRequests": (self.stall_requests, 2, 3),
            "qd_muteNotifications": (self.mute_notifications, 1, 1),
        }

    def intercept(self, method: str) -> None:
        """Called before every HTTP request's handler: stalls its answer while qd_stallRequests
        says so, fails it while qd_failRequests does."""
        if self.stalling > 0 and not method.startswith("qd_") and self.stall_method in (None, method):
            self.stalling -= 1
            self._delay = max(self._delay, self.stall_ms / 1_000)
        if self.failing > 0 and not method.startswith("qd_"):
            self.failing -= 1
            raise RpcError(P.INTERNAL_ERROR, "Internal error (qd_failRequests)")

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

    def drop_websockets(self, _: list[Any]) -> int:
        return self.pubsub.drop_connections()

    def fail_requests(self, p: list[Any]) -> int:
        self.failing = P.want_uint(p[0])
        return self.failing

    def stall_requests(self, p: list[Any]) -> int:
        count = P.want_uint(p[0])
        ms = P.want_uint(p[1], "u32", 32)
        if ms > MAX_STALL_MS:
            raise invalid_params(f"ms {ms} is over the {MAX_STALL_MS} ms a stall may last")
        method = None if p[2] is None else P.want_str(p[2])
        if method is not None and method not in self.rpc_methods:
            raise invalid_params(f"method {method!r} is not an RPC method that can be stalled")
        self.stalling, self.stall_ms, self.stall_method = count, ms, method
        return count

    def take_delay(self) -> float:
        """How long the HTTP answer just handled must wait (qd_stallRequests), in seconds; resets it."""
        delay, self._delay = self._delay, 0.0
        return delay

    def mute_notifications(self, p: list[Any]) -> bool:
        muted = p[0]
        if not isinstance(muted, bool):
            P.invalid_type(muted, "a boolean")
        self.pubsub.muted = muted
        return muted
