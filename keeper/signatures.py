"""Transaction confirmations over one PubSub websocket shared by every in-flight send.

`watch(signature)` subscribes (signatureSubscribe, commitment confirmed) and waits for the
subscription's acknowledgement, so the notification cannot be missed for a transaction sent
afterwards; the returned future resolves with the notification's slot and error. A closed
websocket is reopened with capped exponential backoff and every signature still watched is
subscribed again (a node answers at once for one already confirmed). A notification that never
comes (a lost or silent websocket) is the caller's timeout: the sender then asks
getSignatureStatuses."""
from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from typing import Any

from quantdesk.keeper.backoff import Backoff
from quantdesk.keeper.cache import WebsocketClosed
from quantdesk.keeper.logs import Log
from quantdesk.keeper.metrics import Metrics
from solders.signature import Signature
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["Confirmation", "SignatureWatcher"]

SUBSCRIBE_TIMEOUT_SECS = 2.0
"""How long `watch` waits for the subscription's acknowledgement before going on without it."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    slot: int
    err: Any  # the transaction's error as JSON (None: it succeeded)


class SignatureWatcher:
    def __init__(self, ws_url: str, metrics: Metrics, log: Log, backoff: Backoff | None = None) -> None:
        self.ws_url = ws_url
        self.metrics = metrics
        self.log = log
        self.backoff = backoff or Backoff(0.1, 2.0)
        self.connections = 0
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._watched: dict[Signature, asyncio.Future[Confirmation]] = {}
        self._acks: dict[int, tuple[Signature, asyncio.Future[None]]] = {}  # request id -> (signature, acknowledged)
        self._subscriptions: dict[int, Signature] = {}
        self._signature_subs: dict[Signature, int] = {}

    async def run(self) -> None:
        """Keeps the websocket open until cancelled."""
        delay = 0.0
        while True:
            await asyncio.sleep(delay)
            try:
                async with connect(self.ws_url, max_size=None, open_timeout=SUBSCRIBE_TIMEOUT_SECS) as ws:
                    self.connections += 1
                    self._ws = ws
                    for signature, future in list(self._watched.items()):
                        if not future.done():
                            await self._subscribe(ws, signature)
                    self.backoff.reset()
                    await self._read(ws)
            except (ConnectionClosed, WebsocketClosed, OSError, TimeoutError) as exc:
                delay = self.backoff.next()
                self.metrics.reconnects.labels("sender").inc()
                self.log.warning("sender.reconnect", error=repr(exc), delay_secs=delay)
            finally:
                self._ws = None
                self._subscriptions.clear()
                self._signature_subs.clear()
                for _, acked in self._acks.values():
                    if not acked.done():
                        acked.set_result(None)  # the waiter goes on; the next connection subscribes again
                self._acks.clear()

    async def _subscribe(self, ws: ClientConnection, signature: Signature) -> asyncio.Future[None]:
        request_id = next(self._ids)
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[request_id] = (signature, acked)
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "signatureSubscribe",
                                  "params": [str(signature), {"commitment": "confirmed"}]}))
        return acked

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            request_id = message.get("id")
            if request_id in self._acks:
                signature, acked = self._acks.pop(request_id)
                if "result" in message:
                    self._subscriptions[int(message["result"])] = signature
                    self._signature_subs[signature] = int(message["result"])
                else:
                    self.log.warning("sender.subscribe_failed", signature=str(signature), error=message.get("error"))
                if not acked.done():
                    acked.set_result(None)
                continue
            params = message.get("params")
            if message.get("method") != "signatureNotification" or not isinstance(params, dict):
                continue
            value = params["result"]["value"]
            if not isinstance(value, dict) or params["subscription"] not in self._subscriptions:  # "receivedSignature" is not asked for
                continue
            signature = self._subscriptions.pop(params["subscription"])  # the node ends the subscription with it
            self._signature_subs.pop(signature, None)
            future = self._watched.get(signature)
            if future is not None and not future.done():
                future.set_result(Confirmation(int(params["result"]["context"]["slot"]), value.get("err")))
        raise WebsocketClosed("the node closed the websocket")

    async def watch(self, signature: Signature) -> asyncio.Future[Confirmation]:
        """A future for `signature`'s confirmation, subscribed (acknowledged, or the websocket is
        down and the next connection subscribes it) before this returns."""
        future = self._watched.get(signature)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._watched[signature] = future
        ws = self._ws
        if ws is not None and signature not in self._signature_subs:
            try:
                acked = await self._subscribe(ws, signature)
                await asyncio.wait_for(asyncio.shield(acked), SUBSCRIBE_TIMEOUT_SECS)
            except (ConnectionClosed, TimeoutError):
                pass  # the confirmation timeout and the status check cover a subscription that did not take
        return future

    async def forget(self, signature: Signature) -> None:
        """Stops watching `signature` (unsubscribing when its notification has not come)."""
        self._watched.pop(signature, None)
        sub = self._signature_subs.pop(signature, None)
        ws = self._ws
        if sub is not None:
            self._subscriptions.pop(sub, None)
            if ws is not None:
                try:
                    await ws.send(json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": "signatureUnsubscribe", "params": [sub]}))
                except ConnectionClosed:
                    pass
