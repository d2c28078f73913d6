"""`quantdesk` command line: one sub-command per entry point; the logic lives in the modules."""
from __future__ import annotations

import argparse
import asyncio


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quantdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the end-to-end demo against the local programs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from quantdesk.demo import run

        return asyncio.run(run())
    return 2
