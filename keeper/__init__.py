"""Keeper bots and their shared asyncio runtime.

Modules: `config` (the TOML file and its named errors), `cache` (the account cache over
getProgramAccounts, programSubscribe and slotSubscribe, reconciled and reconnected), `backoff`,
`logs` (JSON lines), `metrics` (Prometheus, /metrics and /healthz), `signatures` (confirmations over one
shared signatureSubscribe websocket), `sender` (every bot's transactions: CU limit from
simulation, priority fee, blockhash cache, retries, confirmation, one send per work key),
`bots` (the `Bot` protocol, the risk bot), `publisher` (the oracle publisher bot) and `prices` (its
sources: a seeded random walk, a CSV replay, Pyth's Hermes), `runtime` (the process: `quantdesk keeper run --config keeper.toml`)."""

__all__: list[str] = []
