"""`quantdesk` command line: one sub-command per entry point; the logic lives in the modules."""
from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quantdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the end-to-end demo against the local programs")
    localnet = sub.add_parser(
        "localnet", help="run the local validator (Solana JSON-RPC + PubSub over LiteSVM)"
    )
    localnet.add_argument("--rpc-port", type=int, default=8899, help="JSON-RPC HTTP port")
    localnet.add_argument("--ws-port", type=int, default=8900, help="PubSub WebSocket port")
    localnet.add_argument("--slot-ms", type=int, default=400, help="slot duration in ms")
    localnet.add_argument("--paused", action="store_true", help="start with the slot clock paused")
    localnet.add_argument(
        "--root", type=Path, default=None, help="workspace holding Anchor.toml (default: search up)"
    )
    localnet.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"], help="server log level"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from quantdesk.demo import run

        return asyncio.run(run())
    if args.command == "localnet":
        from quantdesk.localnet.server import main as localnet_main

        return localnet_main(args.rpc_port, args.ws_port, args.slot_ms, args.paused, args.root, args.log_level)
    return 2
