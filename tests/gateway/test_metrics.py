"""The gateway's Prometheus metrics (quantdesk/gateway/metrics.py): names by the Prometheus
conventions, their labels, and the exposition text."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from quantdesk.gateway.metrics import CONTENT_TYPE, GatewayMetrics


def families(metrics: GatewayMetrics) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    # prometheus-client also exports each counter's and histogram's creation time as `<name>_created`.
    return {f.name: [(s.name, s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(metrics.render().decode())
            if not f.name.endswith("_created")}


def test_names_types_and_labels() -> None:
    m = GatewayMetrics()
    m.observe_request("/markets/{market}/book", "GET", 200, 0.003)
    m.observe_request("/markets/{market}/book", "GET", 200, 0.2)
    m.observe_request("/orders", "POST", 429, 0.0004)
    m.rate_limited("trading")
    m.policy_decision("order", "deny")
    m.policy_decision("order", "allow")
    m.policy_decision("order", "allow")
    m.subscribed("websocket", "book")
    m.subscribed("websocket", "book")
    m.subscribed("socketio", "trades")
    m.unsubscribed("websocket", "book")
    text = m.render().decode()
    assert "# TYPE quantdesk_gateway_requests_total counter" in text
    assert "# TYPE quantdesk_gateway_request_duration_seconds histogram" in text
    assert "# TYPE quantdesk_gateway_rate_limit_refusals_total counter" in text
    assert "# TYPE quantdesk_gateway_policy_decisions_total counter" in text
    assert "# TYPE quantdesk_gateway_feed_subscribers gauge" in text
    assert CONTENT_TYPE.startswith("text/plain")

    f = families(m)
    assert sorted(f) == ["quantdesk_gateway_feed_subscribers", "quantdesk_gateway_policy_decisions", "quantdesk_gateway_rate_limit_refusals",
                         "quantdesk_gateway_request_duration_seconds", "quantdesk_gateway_requests"]
    requests = {(s[1]["route"], s[1]["method"], s[1]["status"]): s[2] for s in f["quantdesk_gateway_requests"] if s[0].endswith("_total")}
    assert requests == {("/markets/{market}/book", "GET", "200"): 2.0, ("/orders", "POST", "429"): 1.0}
    book = {"route": "/markets/{market}/book", "method": "GET", "status": "200"}
    hist = {(s[0], s[1].get("le")): s[2] for s in f["quantdesk_gateway_request_duration_seconds"] if {k: s[1][k] for k in book} == book}
    assert hist[("quantdesk_gateway_request_duration_seconds_count", None)] == 2.0
    assert hist[("quantdesk_gateway_request_duration_seconds_bucket", "0.005")] == 1.0
    assert hist[("quantdesk_gateway_request_duration_seconds_bucket", "+Inf")] == 2.0
    assert abs(hist[("quantdesk_gateway_request_duration_seconds_sum", None)] - 0.203) < 1e-9
    assert [(s[1], s[2]) for s in f["quantdesk_gateway_rate_limit_refusals"] if s[0].endswith("_total")] == [({"endpoint_class": "trading"}, 1.0)]
    decisions = {s[1]["decision"]: s[2] for s in f["quantdesk_gateway_policy_decisions"] if s[0].endswith("_total")}
    assert decisions == {"allow": 2.0, "deny": 1.0}
    subscribers = {(s[1]["transport"], s[1]["channel"]): s[2] for s in f["quantdesk_gateway_feed_subscribers"]}
    assert subscribers == {("websocket", "book"): 1.0, ("socketio", "trades"): 1.0}


def test_each_gateway_has_its_own_registry() -> None:
    a, b = GatewayMetrics(), GatewayMetrics()
    a.rate_limited("admin")
    assert "quantdesk_gateway_rate_limit_refusals_total{endpoint_class=\"admin\"} 1.0" in a.render().decode()
    assert "endpoint_class=\"admin\"" not in b.render().decode()
