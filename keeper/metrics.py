"""Prometheus metrics (one registry per keeper) and the HTTP endpoint serving them with /healthz.

GET /metrics: the text exposition format. GET /healthz: 200 with a JSON body when the health
check passes (the account cache is subscribed, its snapshot taken and its slot notifications
fresh), else 503 with the same body saying why."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["HealthCheck", "Metrics", "serve_http"]

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.notifications = Counter("quantdesk_keeper_notifications_total", "Account notifications received", ["account_type"], registry=r)
        self.changes = Counter("quantdesk_keeper_account_changes_total", "Account changes delivered to subscribers", ["account_type", "source"], registry=r)
        self.reconnects = Counter("quantdesk_keeper_reconnects_total", "PubSub reconnections after a closed or dead websocket", ["reason"], registry=r)
        self.reconciles = Counter("quantdesk_keeper_reconciles_total", "getProgramAccounts snapshots and reconciles", ["reason"], registry=r)
        self.reconcile_fixes = Counter("quantdesk_keeper_reconcile_fixes_total", "Accounts a reconcile found added, changed or closed that the websocket had not reported",
                                       ["account_type", "kind"], registry=r)
        self.rpc_errors = Counter("quantdesk_keeper_rpc_errors_total", "Failed RPC requests (retried with backoff)", ["method"], registry=r)
        self.decode_errors = Counter("quantdesk_keeper_decode_errors_total", "Accounts whose data the decoder refused", ["account_type"], registry=r)
        self.bot_errors = Counter("quantdesk_keeper_bot_errors_total", "Bots that stopped with an error", ["bot"], registry=r)
        self.liquidation_steps = Counter("quantdesk_keeper_liquidation_steps_total", "Liquidation steps sent, by step and outcome", ["step", "outcome"],
                                         registry=r)
        self.feed_update_cpu = Histogram("quantdesk_keeper_feed_update_cpu_seconds",
                                         "Process CPU time the venue view and its listeners (the liquidator's health index) spend on one feed change",
                                         buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5), registry=r)
        self.reconcile_seconds = Histogram("quantdesk_keeper_reconcile_seconds", "Time a snapshot or reconcile of every account type takes", registry=r)
        self.cache_lag = Gauge("quantdesk_keeper_cache_lag_slots", "Node slot minus the last slot the cache heard of", registry=r)
        self.cache_accounts = Gauge("quantdesk_keeper_cache_accounts", "Accounts in the cache", ["account_type"], registry=r)
        self.queue_depth = Gauge("quantdesk_keeper_queue_depth", "Change events waiting in subscribers' queues", ["queue"], registry=r)
        # The transaction sender (keeper/sender.py)
        self.transactions_sent = Counter("quantdesk_keeper_transactions_sent_total", "Transactions sent (each signed transaction once, however often resent)",
                                         ["bot"], registry=r)
        self.transactions_landed = Counter("quantdesk_keeper_transactions_landed_total", "Transactions that landed without error", ["bot"], registry=r)
        self.lost_races = Counter("quantdesk_keeper_lost_races_total", "Work someone else did first (the bot's lost-race program errors)", ["bot", "error"],
                                  registry=r)
        self.transaction_failures = Counter("quantdesk_keeper_transaction_failures_total", "Sends that ended failed or expired", ["bot", "error"], registry=r)
        self.send_retries = Counter("quantdesk_keeper_send_retries_total", "Send attempts retried after a transient error", ["bot", "reason"], registry=r)
        self.in_flight_skips = Counter("quantdesk_keeper_in_flight_skips_total", "Sends refused because the same work was in flight", ["bot"], registry=r)
        self.in_flight = Gauge("quantdesk_keeper_in_flight", "Sends in flight", ["bot"], registry=r)
        self.detect_to_send = Histogram("quantdesk_keeper_detect_to_send_seconds", "From a bot detecting work to its transaction's first send", ["bot"],
                                        registry=r)
        self.send_to_confirm = Histogram("quantdesk_keeper_send_to_confirm_seconds", "From a transaction's first send to its confirmation", ["bot"],
                                         registry=r)
        # The oracle publisher (keeper/publisher.py)
        self.prices_published = Counter("quantdesk_keeper_prices_published_total", "Prices the publisher landed on a qd-oracle feed", ["symbol", "source"],
                                        registry=r)
        self.published_price = Gauge("quantdesk_keeper_published_price", "The last price the publisher landed, in units of the quote currency", ["symbol"],
                                     registry=r)
        self.price_source_errors = Counter("quantdesk_keeper_price_source_errors_total", "Price source failures: failed polls, refused files",
                                           ["source"], registry=r)
        # The risk monitor (keeper/risk.py): base in whole units, quote amounts in units of the quote currency
        self.risk_open_interest = Gauge("quantdesk_keeper_risk_open_interest_base", "Open interest summed from the accounts' positions, by side",
                                        ["market", "side"], registry=r)
        self.risk_open_interest_notional = Gauge("quantdesk_keeper_risk_open_interest_notional", "Open interest at the oracle price, by side",
                                                 ["market", "side"], registry=r)
        self.risk_net_exposure = Gauge("quantdesk_keeper_risk_net_exposure_base", "Long minus short open interest", ["market"], registry=r)
        self.risk_net_exposure_notional = Gauge("quantdesk_keeper_risk_net_exposure_notional", "Net exposure at the oracle price", ["market"], registry=r)
        self.risk_accounts = Gauge("quantdesk_keeper_risk_accounts", "Margin accounts by health-factor bucket (none: no liabilities)", ["bucket"],
                                   registry=r)
        self.risk_unpriced = Gauge("quantdesk_keeper_risk_unpriced_accounts", "Margin accounts not judged: an input is not cached", registry=r)
        self.risk_near = Gauge("quantdesk_keeper_risk_near_liquidation_accounts", "Accounts whose maintenance health is within near_fraction of its requirement",
                               registry=r)
        self.risk_fund_balance = Gauge("quantdesk_keeper_risk_insurance_fund_balance", "The quote's insurance fund balance", ["mint"], registry=r)
        self.risk_largest_shortfall = Gauge("quantdesk_keeper_risk_insurance_largest_shortfall", "The largest single account's negative equity", ["mint"],
                                            registry=r)
        self.risk_negative_equity = Gauge("quantdesk_keeper_risk_insurance_negative_equity", "Every account's negative equity summed", ["mint"], registry=r)
        self.risk_oracle_age = Gauge("quantdesk_keeper_risk_oracle_age_seconds", "Seconds since the feed's publish_time on the cluster clock", ["feed"],
                                     registry=r)
        self.risk_oracle_age_slots = Gauge("quantdesk_keeper_risk_oracle_age_slots", "Slots since the feed's publish_slot", ["feed"], registry=r)
        self.risk_oracle_stale = Gauge("quantdesk_keeper_risk_oracle_stale", "1 when the feed's guard for the action refuses the price as too old",
                                       ["feed", "action"], registry=r)
        self.risk_alerts_active = Gauge("quantdesk_keeper_risk_active_alerts", "Alerts raised and not cleared", ["kind"], registry=r)
        self.risk_alerts = Counter("quantdesk_keeper_risk_alerts_total", "Alerts raised", ["kind"], registry=r)
        self.risk_reports = Counter("quantdesk_keeper_risk_reports_total", "Risk reports computed", registry=r)

        # The cranker (keeper/cranker.py) and the filler (keeper/filler.py)
        self.cranks = Counter("quantdesk_keeper_cranks_total", "Cranks sent, by task (expire, funding, settle, sweep) and outcome", ["task", "outcome"],
                              registry=r)
        self.fills = Counter("quantdesk_keeper_fills_total", "fill_order transactions sent, by outcome (no_fill: landed, nothing crossed)", ["outcome"],
                             registry=r)
        self.filled_base = Counter("quantdesk_keeper_filled_base_total", "Base (native units) the filler's transactions filled", ["market"], registry=r)
        # The JIT maker (keeper/jit_maker.py)
        self.jit_fills = Counter("quantdesk_keeper_jit_fills_total", "place_and_make fills the JIT maker sent, by market and outcome", ["market", "outcome"],
                                 registry=r)
        self.jit_refusals = Counter("quantdesk_keeper_jit_refusals_total", "Auction orders the JIT maker declined, once per order and reason",
                                    ["market", "reason"], registry=r)
        self.auction_to_fill = Histogram("quantdesk_keeper_auction_to_fill_seconds", "From the notification of a taker's order in auction to the JIT fill landing",
                                         ["market"], buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0), registry=r)
        # The trigger and TWAP bots (keeper/triggers.py, keeper/twap.py)
        self.triggers = Counter("quantdesk_keeper_triggers_total", "trigger_order transactions the trigger bot sent, by market and outcome",
                                ["market", "outcome"], registry=r)
        self.twap_slices = Counter("quantdesk_keeper_twap_slices_total", "crank_twap transactions the TWAP bot sent, by market and outcome",
                                   ["market", "outcome"], registry=r)
        self.twap_slice_delay = Histogram("quantdesk_keeper_twap_slice_delay_slots", "Slots from a TWAP slice's due slot to the slot its crank landed in",
                                          ["market"], buckets=(0, 1, 2, 3, 5, 10, 25, 100), registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def summary(self) -> dict[str, float]:
        """Every sample by name and labels, e.g. `quantdesk_keeper_reconnects_total{reason="closed"}` (for the final log line)."""
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(self.exposition().decode()):
            for sample in family.samples:
                if sample.name.endswith("_created") or sample.name.endswith("_bucket"):
                    continue
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return values


def _response(status: int, reason: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return head.encode("latin-1") + body


async def serve_http(host: str, port: int, metrics: Metrics, health: HealthCheck) -> asyncio.Server:
    """Starts the /metrics and /healthz endpoint (one request a connection); close the server to stop."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, path, *_ = head.decode("latin-1").split(" ", 2)
            path = path.split("?", 1)[0]
            if method != "GET":
                reply = _response(405, "Method Not Allowed", b"", "text/plain")
            elif path == "/metrics":
                reply = _response(200, "OK", metrics.exposition(), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                ok, body = health()
                reply = _response(200 if ok else 503, "OK" if ok else "Service Unavailable", json.dumps(body).encode(), "application/json")
            else:
                reply = _response(404, "Not Found", b"", "text/plain")
            writer.write(reply)
            await writer.drain()
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a client that went away or sent garbage costs its own connection only
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
