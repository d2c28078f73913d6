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
replay, Pyth's Hermes), `cranker` (expiries, funding, PnL settlement losers first, fee sweeps),
`filler` (takers past their auction matched with the best resting makers; `holds`: sent work held
until the cache shows it), `jit_maker` (takers' auctions made with place_and_make within its
spread of the oracle), `risk` (the risk monitor: `risk_report` computes, `risk_table` prints,
also `quantdesk risk`), `triggers` (untriggered orders fired with trigger_order once the oracle
meets them) and `twap` (TWAP slices placed with crank_twap as they fall due), both sending
through `order_cranks`."""

__all__: list[str] = []
