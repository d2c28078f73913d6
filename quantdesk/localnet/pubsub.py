"""PubSub: JSON-RPC over WebSocket, shaped like agave's (rpc/src/rpc_pubsub.rs).

Subscriptions: account, program (filters, encoding, dataSlice), slot, signature (incl.
enableReceivedNotification), logs (all / allWithVotes / mentions of one address), root and
slotsUpdates, each with its unsubscribe. Notifications go out after every committed transaction and every slot, each
`{"jsonrpc":"2.0","method":"<kind>Notification","params":{"result":..,"subscription":id}}`.

Every connection has an unbounded outgoing queue drained by its own writer task: the bank's
listeners only enqueue, so a slow client never stalls block production, and no notification is
dropped while the client stays connected. Subscription ids are global, as in agave.

Local-validator semantics: with a single node every commitment is reached at once, so
notifications for all commitment levels go out when the transaction commits, and a signature
subscription for an already committed transaction is answered at once (agave would only answer
on the next bank it checks).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from quantdesk.localnet import codec
from quantdesk.localnet import params as P
from quantdesk.localnet.bank import Bank, SlotInfo, TxRecord
from quantdesk.localnet.params import RpcError
from quantdesk.localnet.rpc import API_VERSION, FEATURE_SET, Filter, parse_filters

_DELETED: Final = Account(0, b"", codec.SYSTEM_PROGRAM_ID)
_SLOT_KINDS: Final = ("slot", "root", "slotsUpdates")


@dataclass(slots=True)
class Connection:
    """One WebSocket client: its outgoing messages and its subscriptions."""

    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    subscriptions: set[int] = field(default_factory=set)

    def send(self, message: dict[str, Any]) -> None:
        self.queue.put_nowait(json.dumps(message, separators=(",", ":")))


@dataclass(slots=True)
class Subscription:
    id: int
    kind: str  # account | program | logs | signature | slot | root | slotsUpdates
    connection: Connection
    key: Pubkey | Signature | None = None  # account/program/mentioned address, or signature
    encoding: str = "binary"
    data_slice: tuple[int, int] | None = None
    filters: list[Filter] = field(default_factory=list)
    received: bool = False  # signature: also notify on receipt


class PubSub:
    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self._ids = itertools.count()
        self._subs: dict[int, Subscription] = {}
        # Lookup by key, so a commit touches only the subscriptions it concerns.
        self._by_key: dict[str, dict[Any, dict[int, Subscription]]] = {
            kind: {} for kind in ("account", "program", "signature", "logs")
        }
        # The subscriptions that follow slots rather than keys.
        self._slot_subs: dict[str, dict[int, Subscription]] = {
            kind: {} for kind in _SLOT_KINDS
        }
        self._sockets: set[ServerConnection] = set()
        self.muted = False  # qd_muteNotifications: account, program, logs and signature notifications withheld
        bank.on_commit(self._on_commit)
        bank.on_slot(self._on_slot)
        bank.on_account(self._on_account)
        self._methods = {
            "accountSubscribe": (self._account_subscribe, 1, 2),
            "programSubscribe": (self._program_subscribe, 1, 2),
            "signatureSubscribe": (self._signature_subscribe, 1, 2),
            "logsSubscribe": (self._logs_subscribe, 1, 2),
            "slotSubscribe": (self._slot_subscribe("slot"), 0, 0),
            "rootSubscribe": (self._slot_subscribe("root"), 0, 0),
            "slotsUpdatesSubscribe": (self._slot_subscribe("slotsUpdates"), 0, 0),
            "getVersion": (self._get_version, 0, 0),
        }
        for kind in ("account", "program", "signature", "logs", *_SLOT_KINDS):
            self._methods[f"{kind}Unsubscribe"] = (self._unsubscribe, 1, 1)

    # -- transport ----------------------------------------------------------------------------

    async def serve(self, websocket: ServerConnection) -> None:
        """Handles one WebSocket connection until it closes."""
        connection = Connection()
        writer = asyncio.create_task(self._write(websocket, connection))
        self._sockets.add(websocket)
        try:
            async for raw in websocket:
                self.handle_message(connection, raw)
        except ConnectionClosed:
            pass
        finally:
            self._sockets.discard(websocket)
            for sub_id in list(connection.subscriptions):
                self._remove(sub_id)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def drop_connections(self) -> int:
        """Cuts every connection's TCP stream now (qd_dropWebsockets); returns how many."""
        sockets = list(self._sockets)
        for websocket in sockets:
            websocket.transport.abort()
        return len(sockets)

    @staticmethod
    async def _write(websocket: ServerConnection, connection: Connection) -> None:
        try:
            while True:
                await websocket.send(await connection.queue.get())
        except ConnectionClosed:
            pass

    def handle_message(self, connection: Connection, raw: str | bytes) -> None:
        try:
            request = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            connection.send(P.error_response(None, RpcError(P.PARSE_ERROR)))
            return
        if isinstance(request, list) and not request:
            connection.send(P.error_response(None, RpcError(P.INVALID_REQUEST)))
            return
        batch = request if isinstance(request, list) else [request]
        responses: list[dict[str, Any]] = []
        follow_ups: list[dict[str, Any]] = []
        for item in batch:
            response, extra = self._dispatch(connection, item)
            if response is not None:
                responses.append(response)
            follow_ups.extend(extra)
        # Responses (subscription ids) must reach the client before notifications for them.
        if isinstance(request, list):
            if responses:
                connection.queue.put_nowait(json.dumps(responses, separators=(",", ":")))
        elif responses:
            connection.send(responses[0])
        for message in follow_ups:
            connection.send(message)

    def _dispatch(
        self, connection: Connection, request: Any
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(response or None for a notification, messages to send after the response)."""
        parsed = P.parse_request(request)
        if not isinstance(parsed, P.Request):
            return parsed, []
        request_id, method, params, is_notification = parsed.id, parsed.method, parsed.params, parsed.notification
        entry = self._methods.get(method)
        try:
            if entry is None:
                raise RpcError(P.METHOD_NOT_FOUND)
            handler, required, total = entry
            result, follow_up = handler(connection, P.positional(params, required, total))
        except RpcError as exc:
            return (None if is_notification else P.error_response(request_id, exc)), []
        if is_notification:
            return None, follow_up
        return {"jsonrpc": "2.0", "result": result, "id": request_id}, follow_up

    # -- subscribe / unsubscribe --------------------------------------------------------------

    def _add(self, sub: Subscription) -> None:
        self._subs[sub.id] = sub
        sub.connection.subscriptions.add(sub.id)
        if sub.kind in _SLOT_KINDS:
            self._slot_subs[sub.kind][sub.id] = sub
        else:
            self._by_key[sub.kind].setdefault(sub.key, {})[sub.id] = sub

    def _remove(self, sub_id: int) -> bool:
        sub = self._subs.pop(sub_id, None)
        if sub is None:
            return False
        sub.connection.subscriptions.discard(sub_id)
        if sub.kind in _SLOT_KINDS:
            del self._slot_subs[sub.kind][sub_id]
        else:
            by_key = self._by_key[sub.kind]
            group = by_key[sub.key]
            del group[sub_id]
            if not group:
                del by_key[sub.key]
        return True

    @staticmethod
    def _pubkey(value: Any, thing: str) -> Pubkey:
        # agave's pubsub reports unparsable keys differently from its HTTP methods.
        text = P.want_str(value)
        try:
            return Pubkey.from_string(text)
        except ValueError as exc:
            raise RpcError(P.INVALID_PARAMS, f"Invalid Request: Invalid {thing} provided") from exc

    def _account_subscribe(self, conn: Connection, p: list[Any]) -> tuple[int, list[Any]]:
        key = self._pubkey(p[0], "pubkey")
        config = P.want_struct(p[1], "RpcAccountInfoConfig")
        P.commitment(config)
        sub = Subscription(
            next(self._ids),
            "account",
            conn,
            key,
            encoding=P.account_encoding(config, "binary"),
            data_slice=P.data_slice(config),
        )
        self._add(sub)
        return sub.id, []

    def _program_subscribe(self, conn: Connection, p: list[Any]) -> tuple[int, list[Any]]:
        config = P.want_struct(p[1], "RpcProgramAccountsConfig")
        try:
            filters = parse_filters(config.get("filters"))
        except RpcError as exc:
            # agave's programSubscribe surfaces filter errors by their Display text.
            raise RpcError(P.INVALID_PARAMS, exc.message.removeprefix("Invalid param: ")) from exc
        key = self._pubkey(p[0], "pubkey")
        P.commitment(config)
        sub = Subscription(
            next(self._ids),
            "program",
            conn,
            key,
            encoding=P.account_encoding(config, "binary"),
            data_slice=P.data_slice(config),
            filters=filters,
        )
        self._add(sub)
        return sub.id, []

    def _signature_subscribe(self, conn: Connection, p: list[Any]) -> tuple[int, list[Any]]:
        text = P.want_str(p[0])
        try:
            signature = Signature.from_string(text)
        except ValueError as exc:
            raise RpcError(P.INVALID_PARAMS, "Invalid Request: Invalid signature provided") from exc
        config = P.want_struct(p[1], "RpcSignatureSubscribeConfig")
        P.commitment(config)
        received = P.optional_bool(config, "enableReceivedNotification")
        sub = Subscription(next(self._ids), "signature", conn, signature, received=received)
        record = self.bank.record(signature)
        if record is not None:
            # Already committed: answer now (unless muted) and do not keep the subscription.
            return sub.id, [] if self.muted else [self._signature_message(sub.id, record)]
        self._add(sub)
        return sub.id, []

    def _logs_subscribe(self, conn: Connection, p: list[Any]) -> tuple[int, list[Any]]:
        spec = p[0]
        key: Pubkey | None
        if spec in ("all", "allWithVotes"):
            key = None
        elif isinstance(spec, dict) and list(spec) == ["mentions"]:
            mentions = P.want_str_list(spec["mentions"])
            if len(mentions) != 1:
                raise RpcError(P.INVALID_PARAMS, "Invalid Request: Only 1 address supported")
            key = self._pubkey(mentions[0], "mentions")
        else:
            variant = next(iter(spec), None) if isinstance(spec, dict) else spec
            if not isinstance(variant, str):
                P.invalid_type(spec, "string or map")
            P.serde_error(
                f"unknown variant `{variant}`, expected one of `all`, `allWithVotes`, `mentions`"
            )
        P.commitment(P.want_struct(p[1], "RpcTransactionLogsConfig"))
        sub = Subscription(next(self._ids), "logs", conn, key)
        self._add(sub)
        return sub.id, []

    def _slot_subscribe(self, kind: str) -> Callable[[Connection, list[Any]], tuple[int, list[Any]]]:
        def subscribe(conn: Connection, _: list[Any]) -> tuple[int, list[Any]]:
            sub = Subscription(next(self._ids), kind, conn)
            self._add(sub)
            return sub.id, []

        return subscribe

    def _unsubscribe(self, conn: Connection, p: list[Any]) -> tuple[bool, list[Any]]:
        sub_id = P.want_uint(p[0])
        if sub_id not in conn.subscriptions or not self._remove(sub_id):
            raise RpcError(P.INVALID_PARAMS, "Invalid subscription id.")
        return True, []

    @staticmethod
    def _get_version(_: Connection, __: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        return {"feature-set": FEATURE_SET, "solana-core": API_VERSION}, []

    # -- notifications ------------------------------------------------------------------------

    def signature_received(self, signature: Signature) -> None:
        for sub in list(self._by_key["signature"].get(signature, {}).values()):
            if sub.received:
                sub.connection.send(
                    _notification(
                        "signatureNotification",
                        sub.id,
                        {"context": {"slot": self.bank.slot}, "value": "receivedSignature"},
                    )
                )

    def _signature_message(self, sub_id: int, record: TxRecord) -> dict[str, Any]:
        err = None if record.err is None else codec.error_to_json(record.err)
        return _notification(
            "signatureNotification",
            sub_id,
            {"context": {"slot": record.slot}, "value": {"err": err}},
        )

    def _on_commit(self, record: TxRecord) -> None:
        slot = record.slot
        if self.muted:  # the transaction's signature subscriptions end unanswered, as if the notification was lost
            for sub_id in list(self._by_key["signature"].get(record.signature, {})):
                self._remove(sub_id)
            return
        for pubkey, account in record.written:
            self._notify_account(pubkey, account, slot)
        logs_subs = self._by_key["logs"]
        if logs_subs:
            value = {
                "signature": str(record.signature),
                "err": None if record.err is None else codec.error_to_json(record.err),
                "logs": record.logs,
            }
            for sub in self._logs_subscribers(record.resolved.account_keys):
                sub.connection.send(
                    _notification(
                        "logsNotification", sub.id, {"context": {"slot": slot}, "value": value}
                    )
                )
        signature_subs = self._by_key["signature"].get(record.signature)
        if signature_subs:
            for sub in list(signature_subs.values()):
                sub.connection.send(self._signature_message(sub.id, record))
                self._remove(sub.id)  # signature subscriptions end with their notification

    def _logs_subscribers(self, keys: list[Pubkey]) -> Iterator[Subscription]:
        logs_subs = self._by_key["logs"]
        yield from logs_subs.get(None, {}).values()
        for key in keys:
            yield from logs_subs.get(key, {}).values()

    def _on_account(self, pubkey: Pubkey, account: Account | None) -> None:
        if not self.muted:
            self._notify_account(pubkey, account, self.bank.slot)

    def _notify_account(self, pubkey: Pubkey, account: Account | None, slot: int) -> None:
        context = {"slot": slot}
        for sub in self._by_key["account"].get(pubkey, {}).values():
            value = codec.encode_account(account or _DELETED, sub.encoding, sub.data_slice)
            sub.connection.send(
                _notification("accountNotification", sub.id, {"context": context, "value": value})
            )
        if account is None:
            return
        program_subs = self._by_key["program"].get(account.owner)
        if not program_subs:
            return
        data = bytes(account.data)
        for sub in program_subs.values():
            if all(f(data) for f in sub.filters):
                value = {
                    "pubkey": str(pubkey),
                    "account": codec.encode_account(account, sub.encoding, sub.data_slice),
                }
                sub.connection.send(
                    _notification(
                        "programNotification", sub.id, {"context": context, "value": value}
                    )
                )

    def _on_slot(self, info: SlotInfo) -> None:
        value = {"parent": info.parent, "root": info.root, "slot": info.slot}
        for sub in self._slot_subs["slot"].values():
            sub.connection.send(_notification("slotNotification", sub.id, value))
        for sub in self._slot_subs["root"].values():
            sub.connection.send(_notification("rootNotification", sub.id, info.root))
        if self._slot_subs["slotsUpdates"]:
            for update in _slot_updates(info):
                for sub in self._slot_subs["slotsUpdates"].values():
                    sub.connection.send(_notification("slotsUpdatesNotification", sub.id, update))


def _slot_updates(info: SlotInfo) -> list[dict[str, Any]]:
    """slotsUpdates for a new slot: the parent's block is frozen (its transactions are known
    now), then the new bank is created and, on this single node, at once optimistically
    confirmed and rooted (as slotNotification's root == slot says). After a reset there is no
    parent block to freeze."""
    now = int(time.time() * 1000)  # agave stamps each update with wall-clock milliseconds
    updates: list[dict[str, Any]] = []
    if info.parent != info.slot:
        count = info.parent_successful + info.parent_failed
        updates.append(
            {
                "type": "frozen",
                "slot": info.parent,
                "timestamp": now,
                "stats": {
                    # one entry per transaction: the bank executes them one at a time
                    "numTransactionEntries": count,
                    "numSuccessfulTransactions": info.parent_successful,
                    "numFailedTransactions": info.parent_failed,
                    "maxTransactionsPerEntry": min(count, 1),
                },
            }
        )
    updates.append({"type": "createdBank", "slot": info.slot, "parent": info.parent, "timestamp": now})
    updates.append({"type": "optimisticConfirmation", "slot": info.slot, "timestamp": now})
    updates.append({"type": "root", "slot": info.slot, "timestamp": now})
    return updates


def _notification(method: str, sub_id: int, result: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": method,
        "params": {"result": result, "subscription": sub_id},
    }

