"""Prometheus metrics for the gateway (issue 19), in a registry of their own so that several
gateways in one process (the tests) do not collide, and `render()` for GET /metrics.

Routes are labelled by their template (`/accounts/{address}`), never by the raw path, so the label
set stays bounded whatever clients request."""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "GatewayMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Loopback latencies sit in the low milliseconds; building an order transaction reaches tens.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("quantdesk_gateway_requests_total", "HTTP requests answered, by route template, method and status",
                                ["route", "method", "status"], registry=r)
        self.request_seconds = Histogram("quantdesk_gateway_request_duration_seconds", "Time to answer an HTTP request, by route template, method and status",
                                         ["route", "method", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.rate_limit_refusals = Counter("quantdesk_gateway_rate_limit_refusals_total", "Requests refused with 429, by endpoint class",
                                           ["endpoint_class"], registry=r)
        self.policy_decisions = Counter("quantdesk_gateway_policy_decisions_total", "Policy decision point outcomes, by action and decision",
                                        ["action", "decision"], registry=r)
        self.feed_subscribers = Gauge("quantdesk_gateway_feed_subscribers", "Live feed subscriptions open, by transport and channel",
                                      ["transport", "channel"], registry=r)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method, str(status))
        self.requests.labels(*labels).inc()
        self.request_seconds.labels(*labels).observe(seconds)

    def rate_limited(self, endpoint_class: str) -> None:
        self.rate_limit_refusals.labels(endpoint_class).inc()

    def policy_decision(self, action: str, decision: str) -> None:
        self.policy_decisions.labels(action, decision).inc()

    def subscribed(self, transport: str, channel: str) -> None:
        self.feed_subscribers.labels(transport, channel).inc()

    def unsubscribed(self, transport: str, channel: str) -> None:
        self.feed_subscribers.labels(transport, channel).dec()

    def render(self) -> bytes:
        """The text exposition format, served with CONTENT_TYPE."""
        return generate_latest(self.registry)
