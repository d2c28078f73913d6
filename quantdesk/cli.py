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
    localnet.add_argument(
        "--ledger", type=Path, default=None,
        help="keep accounts, blocks and transactions in DIR across restarts (default: memory only)",
    )
    localnet.add_argument("--reset", action="store_true", help="delete the --ledger first and start clean")
    localnet.add_argument(
        "--account", nargs=2, action="append", default=[], metavar=("ADDRESS", "FILE.json"),
        help="load an account from `solana account ADDR --output json` output (ADDRESS `-`: the "
        "file's pubkey); repeatable; ignored when the ledger already exists",
    )
    localnet.add_argument(
        "--bpf-program", nargs=2, action="append", default=[], metavar=("ADDRESS", "FILE.so"),
        help="deploy a program at ADDRESS (a pubkey or keypair file); repeatable",
    )
    keeper = sub.add_parser("keeper", help="run the keeper bots (quantdesk keeper run --config keeper.toml)")
    keeper.add_argument("bot", help="`run` for the bots the configuration lists, or one bot's name to run only it")
    keeper.add_argument("--config", type=Path, required=True, help="the keeper's TOML configuration")
    keeper.add_argument("--rpc-url", help="overrides rpc_url")
    keeper.add_argument("--ws-url", help="overrides ws_url")
    keeper.add_argument("--keypair", help="overrides keypair (a Solana CLI JSON keypair)")
    keeper.add_argument("--port", type=int, help="overrides port (/metrics and /healthz; 0: any free port)")
    keeper.add_argument("--reconcile-secs", type=float, help="overrides reconcile_secs (at most 60)")
    keeper.add_argument("--dead-after-slots", type=int, help="overrides dead_after_slots")
    keeper.add_argument("--slot-secs", type=float, help="overrides slot_secs")
    keeper.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="log level")
    risk = sub.add_parser("risk", help="print the venue's risk tables once (markets, health buckets, accounts near liquidation, insurance, oracles)")
    risk.add_argument("--rpc-url", required=True, help="the cluster's JSON-RPC URL")
    risk.add_argument("--ws-url", default="", help="the cluster's PubSub URL (unused: the tables come from one getProgramAccounts snapshot)")
    risk.add_argument("--near-fraction", type=float, default=0.1, help="maintenance health within this fraction of its requirement: near liquidation")
    risk.add_argument("--timeout-secs", type=float, default=30.0, help="give up reading the cluster after this long")
    stress = sub.add_parser("stress", help="apply stress scenarios to every account: liquidatable and bankrupt accounts, insurance shortfall, an HTML report")
    stress.add_argument("--rpc", required=True, metavar="URL", help="the cluster's JSON-RPC URL (one getProgramAccounts snapshot)")
    stress.add_argument("--scenarios", type=Path, default=None, metavar="FILE.toml", help="the scenarios (default: built in, from the venue's markets and collateral)")
    stress.add_argument("--out", type=Path, default=Path("target/reports"), metavar="DIR", help="where stress.html and stress.json go")
    stress.add_argument("--top", type=int, default=10, help="largest contributors listed per scenario")
    stress.add_argument("--timeout-secs", type=float, default=60.0, help="give up reading the cluster after this long")
    indexer = sub.add_parser("indexer", help="index the programs' events into the store (`quantdesk indexer migrate`: only migrate it)")
    indexer.add_argument("action", nargs="?", choices=["run", "migrate"], default="run", help="run (default) or migrate")
    _store_options(indexer)
    indexer.add_argument("--rpc-url", default="http://127.0.0.1:8899", help="the cluster's JSON-RPC URL")
    indexer.add_argument("--ws-url", default="ws://127.0.0.1:8900", help="the cluster's PubSub URL")
    indexer.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="log level")
    report = sub.add_parser("report", help="write a period's report (HTML, CSV, plots) from the indexer's store")
    report.add_argument("period", choices=["daily", "range"])
    report.add_argument("--date", help="daily: the UTC day (YYYY-MM-DD)")
    report.add_argument("--from", dest="start", help="range: the first UTC day")
    report.add_argument("--to", dest="end", help="range: the last UTC day (inclusive)")
    report.add_argument("--out", type=Path, default=Path("target/reports"), metavar="DIR", help="where index.html, the CSVs and plots go")
    _store_options(report)
    surveil = sub.add_parser("surveil", help="trade surveillance over the indexer's store: wash trades, spoofing, layering, marking, oracle-driven liquidations")
    surveil.add_argument("--evidence", type=int, default=10, help="evidence rows printed per alert")
    _store_options(surveil)
    audit = sub.add_parser("audit", help="`quantdesk audit verify`: re-check the store's hash chain and Merkle roots")
    audit.add_argument("action", choices=["verify"])
    _store_options(audit)
    gateway = sub.add_parser("gateway", help="run the API gateway (Sign-In-With-Solana, sessions)")
    gateway.add_argument("--host", default="127.0.0.1", help="listen address")
    gateway.add_argument("--port", type=int, default=3002, help="listen port")
    gateway.add_argument("--domain", default=None, help="the SIWS domain wallets sign for (default HOST:PORT)")
    gateway.add_argument("--uri", default=None, help="the SIWS URI wallets sign for (default http://HOST:PORT)")
    gateway.add_argument("--chain-id", default="localnet", help="the SIWS Chain ID accepted, e.g. localnet, devnet, mainnet")
    gateway.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"], help="server log level")
    return parser


def _gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from quantdesk.gateway.app import GatewayConfig, create_app
    from quantdesk.gateway.siws import Policy

    domain = args.domain if args.domain is not None else f"{args.host}:{args.port}"
    uri = args.uri if args.uri is not None else f"http://{args.host}:{args.port}"
    app = create_app(GatewayConfig(sign_in=Policy(domain=domain, uri=uri, chain_id=args.chain_id)))
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, default=None, help="the SQLite store file (default target/indexer.db)")
    parser.add_argument("--db-url", default=None, help="an SQLAlchemy URL instead, e.g. postgresql+psycopg://user@host:5432/quantdesk")


def _keeper(args: argparse.Namespace) -> int:
    import sys
    from dataclasses import replace

    from quantdesk.keeper.config import ConfigError, load_config
    from quantdesk.keeper.runtime import main as keeper_main

    keys = ("rpc_url", "ws_url", "keypair", "port", "reconcile_secs", "dead_after_slots", "slot_secs")
    try:
        config = load_config(args.config, {key: getattr(args, key) for key in keys})
        if args.bot != "run":  # one bot: its table's parameters, or none
            config = replace(config, bots={args.bot: config.bots.get(args.bot, {})})
        return keeper_main(config, args.log_level)
    except ConfigError as exc:
        print(f"quantdesk keeper: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _localnet(args: argparse.Namespace) -> int:
    import sys

    from quantdesk.localnet.genesis_flags import AccountFileError, ProgramFlagError
    from quantdesk.localnet.ledger import LedgerError
    from quantdesk.localnet.server import ServerConfig, find_root
    from quantdesk.localnet.server import main as localnet_main

    if args.reset and args.ledger is None:
        print("quantdesk localnet: --reset needs --ledger DIR", file=sys.stderr)
        return 2
    config = ServerConfig(
        rpc_port=args.rpc_port,
        ws_port=args.ws_port,
        slot_ms=args.slot_ms,
        paused=args.paused,
        root=args.root if args.root is not None else find_root(Path.cwd()),
        ledger=args.ledger,
        reset=args.reset,
        accounts=[(address, Path(path)) for address, path in args.account],
        programs=[(address, Path(path)) for address, path in args.bpf_program],
    )
    try:
        return localnet_main(config, args.log_level)
    except (AccountFileError, ProgramFlagError, LedgerError) as exc:
        print(f"quantdesk localnet: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from quantdesk.demo import run

        return asyncio.run(run())
    if args.command == "localnet":
        return _localnet(args)
    if args.command == "keeper":
        return _keeper(args)
    if args.command == "gateway":
        return _gateway(args)
    if args.command == "risk":
        from quantdesk.keeper.risk import print_report

        return print_report(args.rpc_url, args.ws_url, args.near_fraction, args.timeout_secs)
    if args.command == "stress":
        from quantdesk.stress.command import main as stress_main

        return stress_main(args.rpc, args.scenarios, args.out, args.top, args.timeout_secs)
    if args.command == "surveil":
        from quantdesk.indexer.main import store_url
        from quantdesk.surveillance.command import main as surveil_main

        return surveil_main(store_url(args.db, args.db_url), args.evidence)
    if args.command == "report":
        from quantdesk.indexer.main import store_url
        from quantdesk.reports.command import main as report_main

        start, end = (args.date, None) if args.period == "daily" else (args.start, args.end)
        if start is None or (args.period == "range" and end is None):
            parser.error("report daily needs --date; report range needs --from and --to")
        return report_main(store_url(args.db, args.db_url), start, end, args.out)
    if args.command in ("indexer", "audit"):
        from quantdesk.indexer.main import run as indexer_main
        from quantdesk.indexer.main import store_url

        url = store_url(args.db, args.db_url)
        if args.command == "audit":
            from quantdesk.audit.verify import main as verify_main

            return verify_main(url)
        return indexer_main(url, args.rpc_url, args.ws_url, args.log_level, args.action == "migrate")
    return 2
