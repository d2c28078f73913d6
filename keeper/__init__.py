"""Keeper bots and their shared asyncio runtime.

The runtime: `config` (the TOML file and its named errors), `cache` (the account cache over
getProgramAccounts, programSubscribe and slotSubscribe, reconciled and reconnected), `view` (the
venue as the cache holds it, and what changed), `backoff`, `logs` (JSON lines), `metrics`
(Prometheus, /metrics and /healthz), `signatures` (confirmations over one shared
signatureSubscribe websocket), `sender` (every bot's transactions: CU limit from simulation,
priority fee, blockhash cache, retries, confirmation, one send per work key), `bots` (the `Bot`
protocol and its context), `registry` (the bots by name), `runtime` (the process: `quantdesk
keeper run --config keeper.toml`).

The bots: `liquidator` (with `health_index`, which accounts are liquidatable, kept
incrementally), `publisher` (the oracle publisher, with `prices`: a seeded random walk, a CSV
replay, Pyth's Hermes), `risk` (the risk monitor and `quantdesk risk`, with `risk_report`, its numbers
from the view, and `risk_table`, their tables)."""

__all__: list[str] = []
