"""Keeper bots and their shared asyncio runtime.

Modules: `config` (the TOML file and its named errors), `cache` (the account cache over
getProgramAccounts, programSubscribe and slotSubscribe, reconciled and reconnected), `backoff`,
`logs` (JSON lines), `metrics` (Prometheus, /metrics and /healthz), `bots` (the `Bot` protocol,
the risk bot), `runtime` (the process: `quantdesk keeper run --config keeper.toml`)."""

__all__: list[str] = []
