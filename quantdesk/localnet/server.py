"""Transport: HTTP/1.1 JSON-RPC (keep-alive, pipelining, batches) and the PubSub WebSocket.

The HTTP side is a small asyncio Protocol rather than a framework: requests are parsed straight
from the socket buffer and answered inline, which is what lets one Python process sustain several
hundred transactions per second. An answer qd_stallRequests delays is written by a timer, never by
blocking the loop; its connection stops reading until then, so answers stay in request order. It speaks what JSON-RPC clients send (POST with Content-Length),
answers `GET /health` like agave, and enforces agave's 50 KiB request body limit.
"""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from solders.pubkey import Pubkey
from websockets.asyncio.server import serve as ws_serve

from quantdesk.localnet import params as P
from quantdesk.localnet.bank import Bank
from quantdesk.localnet.clock import SlotClock
from quantdesk.localnet.cluster import ClusterMethods
from quantdesk.localnet.controls import Controls
from quantdesk.localnet.genesis_flags import load_account_file, program_flag
from quantdesk.localnet.ledger import Ledger
from quantdesk.localnet.params import RpcError
from quantdesk.localnet.pubsub import PubSub
from quantdesk.localnet.rpc import RpcHandlers
from quantdesk.localnet.tokens import TokenMethods

log = logging.getLogger("quantdesk.localnet")

MAX_REQUEST_BODY_SIZE: Final = 50 * 1024  # agave's MAX_REQUEST_BODY_SIZE
_MAX_HEADER_SIZE: Final = 16 * 1024
_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
}


def load_programs(root: Path) -> dict[Pubkey, Path]:
    """Anchor.toml [programs.localnet] entries whose target/deploy/<name>.so exists."""
    manifest = root / "Anchor.toml"
    if not manifest.exists():
        return {}
    with manifest.open("rb") as f:
        entries = tomllib.load(f).get("programs", {}).get("localnet", {})
    programs: dict[Pubkey, Path] = {}
    for name, program_id in entries.items():
        so = root / "target" / "deploy" / f"{name}.so"
        if so.exists():
            programs[Pubkey.from_string(program_id)] = so
        else:
            log.info("program %s: %s not built, not deployed", name, so)
    return programs


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` holding an Anchor.toml (else `start`)."""
    for directory in (start, *start.parents):
        if (directory / "Anchor.toml").exists():
            return directory
    return start


class JsonRpcApp:
    """Decodes HTTP bodies into JSON-RPC calls (single or batch) and encodes the answers."""

    def __init__(self, handlers: RpcHandlers, take_delay: Callable[[], float] = lambda: 0.0) -> None:
        self.handlers = handlers
        self.take_delay = take_delay  # how long the answer just built must wait (qd_stallRequests)

    def respond(self, body: bytes) -> tuple[bytes, float]:
        """The answer to an HTTP body, and how many seconds it must wait before it is written."""
        answer = self.handle_body(body)
        return answer, self.take_delay()

    def handle_body(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return _dump({"jsonrpc": "2.0", "error": RpcError(P.PARSE_ERROR).to_json(), "id": None})
        if isinstance(request, list):
            if not request:
                return _dump(
                    {"jsonrpc": "2.0", "error": RpcError(P.INVALID_REQUEST).to_json(), "id": None}
                )
            responses = [r for r in map(self._handle_one, request) if r is not None]
            return _dump(responses) if responses else b""
        response = self._handle_one(request)
        return b"" if response is None else _dump(response)

    def _handle_one(self, request: Any) -> dict[str, Any] | None:
        try:
            return self.handlers.handle(request)
        except Exception:  # a handler bug must cost one request, never the server
            log.exception("internal error handling %r", request)
            request_id = request.get("id") if isinstance(request, dict) else None
            return {"jsonrpc": "2.0", "error": RpcError(P.INTERNAL_ERROR).to_json(), "id": request_id}


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and pipelining over one connection."""

    def __init__(self, app: JsonRpcApp, connections: set[HttpProtocol]) -> None:
        self.app = app
        self.connections = connections
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self._continued = False
        self._held = False  # a stalled answer is pending: nothing more is read or answered until it is written

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._process()

    def _process(self) -> None:
        while self.transport is not None and not self._held:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEADER_SIZE:
                    self._reply(431, b"", close=True)
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self._reply(400, b"", close=True)
                return
            method, path, version = parts
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            keep_alive = (
                headers.get("connection", "").lower() != "close"
                if version == "HTTP/1.1"
                else headers.get("connection", "").lower() == "keep-alive"
            )
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._reply(411, b"", close=True)
                return
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._reply(400, b"", close=True)
                return
            if length > MAX_REQUEST_BODY_SIZE:
                self._reply(413, b"", close=True)
                return
            if len(self.buffer) < end + 4 + length:
                # curl asks before sending bodies over 1 KiB; answer rather than make it wait.
                if headers.get("expect", "").lower() == "100-continue" and not self._continued:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self._continued = True
                return  # body still arriving
            self._continued = False
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._route(method, path, headers, body, keep_alive)

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes, keep_alive: bool
    ) -> None:
        if method == "GET" and path == "/health":
            self._reply(200, b"ok", keep_alive, content_type="text/plain")
        elif method == "OPTIONS":  # CORS preflight: browsers may call the node from any origin
            self._reply(200, b"", keep_alive)
        elif method != "POST":
            self._reply(405, b"Used HTTP Method is not allowed. POST or OPTIONS is required", keep_alive)
        elif not headers.get("content-type", "").startswith("application/json"):
            self._reply(
                415,
                b"Supplied content type is not allowed. Content-Type: application/json is required",
                keep_alive,
            )
        else:
            answer, delay = self.app.respond(body)
            if delay <= 0:
                self._reply(200, answer, keep_alive)
            elif self.transport is not None:
                self._held = True
                self.transport.pause_reading()
                asyncio.get_running_loop().call_later(delay, self._release, answer, keep_alive)

    def _release(self, answer: bytes, keep_alive: bool) -> None:
        """Writes a stalled answer, then goes on with what arrived behind it."""
        self._held = False
        self._reply(200, answer, keep_alive)
        if self.transport is not None:
            self.transport.resume_reading()
            self._process()

    def _reply(
        self,
        status: int,
        body: bytes,
        keep_alive: bool = True,
        close: bool = False,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        if self.transport is None:
            return
        keep = keep_alive and not close
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Access-Control-Allow-Origin: *\r\n"
            "Access-Control-Allow-Methods: POST, OPTIONS\r\n"
            "Access-Control-Allow-Headers: content-type\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        ).encode("latin-1")
        self.transport.write(head + body)
        if not keep:
            self.transport.close()
            self.transport = None


@dataclass(slots=True)
class ServerConfig:
    rpc_port: int = 8899
    ws_port: int = 8900
    host: str = "127.0.0.1"
    slot_ms: int = 400
    paused: bool = False
    root: Path = Path(".")
    ledger: Path | None = None  # None: state lives in memory only
    reset: bool = False  # delete the ledger first
    accounts: list[tuple[str, Path]] = field(default_factory=list)  # --account ADDRESS FILE
    programs: list[tuple[str, Path]] = field(default_factory=list)  # --bpf-program ADDRESS FILE


class LocalValidator:
    """Bank + clock + RPC + PubSub, listening on two ports."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        # Flags are checked before the ledger is touched, so a typo never costs a ledger.
        accounts = [load_account_file(address, path) for address, path in config.accounts]
        programs = load_programs(config.root) | dict(program_flag(a, p) for a, p in config.programs)
        self.bank = Bank(programs, slot_ms=config.slot_ms)
        self.ledger: Ledger | None = None
        restored = False
        if config.ledger is not None:
            if config.reset:
                Ledger.delete(config.ledger)
            self.ledger = Ledger(config.ledger)
            restored = self.ledger.open(self.bank)
        if restored:
            if accounts:  # as agave: genesis flags only shape a new ledger
                log.info("ledger %s exists: --account ignored", config.ledger)
        else:
            for pubkey, account in accounts:
                self.bank.set_account(pubkey, account)
        self.clock = SlotClock(self.bank, paused=config.paused)
        self.pubsub = PubSub(self.bank)
        self.controls = Controls(self.bank, self.clock, self.pubsub)
        self.handlers = RpcHandlers(
            self.bank,
            on_received=self.pubsub.signature_received,
            extra={
                **ClusterMethods(
                    self.bank,
                    rpc_address=f"{config.host}:{config.rpc_port}",
                    pubsub_address=f"{config.host}:{config.ws_port}",
                ).methods(),
                **TokenMethods(self.bank).methods(),
                **self.controls.methods(),
            },
            intercept=self.controls.intercept,
        )
        self.controls.rpc_methods = frozenset(m for m in self.handlers.methods if not m.startswith("qd_"))
        self._http_connections: set[HttpProtocol] = set()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        app = JsonRpcApp(self.handlers, self.controls.take_delay)
        http = await loop.create_server(
            lambda: HttpProtocol(app, self._http_connections),
            self.config.host,
            self.config.rpc_port,
            reuse_address=True,
        )
        async with ws_serve(
            self.pubsub.serve,
            self.config.host,
            self.config.ws_port,
            max_size=2**22,
            compression=None,  # per-message deflate costs more CPU than loopback bandwidth
        ) as ws:
            self.clock.start()
            log.info(
                "localnet: JSON-RPC http://%s:%d  PubSub ws://%s:%d  programs: %s",
                self.config.host,
                self.config.rpc_port,
                self.config.host,
                self.config.ws_port,
                ", ".join(str(p) for p in self.bank.programs) or "none",
            )
            try:
                await stop.wait()
            finally:
                await self.clock.stop()
                if self.ledger is not None:
                    self.ledger.close()
                http.close()
                for connection in list(self._http_connections):
                    if connection.transport is not None:
                        connection.transport.close()
                await http.wait_closed()
                ws.close()
                await ws.wait_closed()


async def serve(config: ServerConfig) -> None:
    """Runs until SIGINT or SIGTERM, then closes every socket."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await LocalValidator(config).run(stop)


def main(config: ServerConfig, log_level: str = "info") -> int:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(config))
    return 0
