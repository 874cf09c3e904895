"""Prometheus metrics (prometheus-client), one registry per app (no process-global state), and `GET /metrics`.

Labels are bounded: aliases come from the config, codes from the gateway's own tables.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from gateway.transports.handshake import presented_key

# Dial and first-delta latencies: 10 ms … 30 s.
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_UPSTREAM_EVENTS = ("reconnect", "resumption", "go_away")
# Spend-row token columns → (direction, modality) labels of livegate_tokens.
TOKEN_LABELS = {
    "input_text_tokens": ("input", "text"),
    "input_audio_tokens": ("input", "audio"),
    "input_image_tokens": ("input", "image"),
    "cached_tokens": ("input", "cached"),
    "output_text_tokens": ("output", "text"),
    "output_audio_tokens": ("output", "audio"),
    "reasoning_tokens": ("output", "reasoning"),
}


@dataclass(frozen=True)
class AliasMetrics:
    """One alias's labelled series, looked up once: prometheus-client takes a lock on every `labels()` call,
    and a response touches about ten series."""

    sessions_open: Any
    responses: dict[str, Any]  # by status
    tokens: tuple[tuple[str, Any], ...]  # (spend-row token column, its series)
    spend: Any
    dial: Any
    first_delta: dict[str, Any]  # by modality
    upstream_events: dict[str, Any]  # by event


class Metrics:
    """Every instrument the gateway exports."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.sessions_open = Gauge("livegate_sessions_open", "Open client sessions", ["alias"], registry=r)
        self.sessions = Counter(
            "livegate_sessions", "Ended sessions, by the close the client got", ["alias", "outcome"], registry=r
        )
        self.refused = Counter("livegate_refused_connections", "Connections refused before a session", ["reason"],
                               registry=r)
        self.responses = Counter("livegate_responses", "Finished responses", ["alias", "status"], registry=r)
        self.tokens = Counter(
            "livegate_tokens", "Tokens by direction and modality", ["alias", "direction", "modality"], registry=r
        )
        self.spend = Counter("livegate_spend_usd", "Cost in USD (schemas/pricing.py)", ["alias"], registry=r)
        self.dial = Histogram(
            "livegate_upstream_dial_seconds",
            "Upstream connect + setup",
            ["alias"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.first_delta = Histogram(
            "livegate_time_to_first_delta_seconds",
            "From response.created to its first audio or text delta",
            ["alias", "modality"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_events = Counter(
            "livegate_upstream_events", "Upstream reconnects, resumptions and goAways", ["alias", "event"], registry=r
        )
        self.client_errors = Counter("livegate_client_errors", "error events sent to clients", ["code"], registry=r)
        self.backlog_overflows = Counter(
            "livegate_backlog_overflows", "Sessions ended by a full send queue", ["direction"], registry=r
        )
        self.spend_queue = Gauge("livegate_spend_queue_rows", "Spend rows waiting for the database", registry=r)
        self.spend_dropped = Gauge("livegate_spend_rows_dropped", "Spend rows lost to a full queue", registry=r)
        self._aliases: dict[str, AliasMetrics] = {}  # alias → its series

    def alias(self, alias: str) -> AliasMetrics:
        found = self._aliases.get(alias)
        if found is None:
            statuses = ("completed", "cancelled", "incomplete", "failed")
            found = self._aliases[alias] = AliasMetrics(
                sessions_open=self.sessions_open.labels(alias),
                responses={status: self.responses.labels(alias, status) for status in statuses},
                tokens=tuple((name, self.tokens.labels(alias, *labels)) for name, labels in TOKEN_LABELS.items()),
                spend=self.spend.labels(alias),
                dial=self.dial.labels(alias),
                first_delta={m: self.first_delta.labels(alias, m) for m in ("audio", "text")},
                upstream_events={e: self.upstream_events.labels(alias, e) for e in _UPSTREAM_EVENTS},
            )
        return found

    def watch_spend_queue(self, pending: Callable[[], int], dropped: Callable[[], int]) -> None:
        self.spend_queue.set_function(lambda: float(pending()))
        self.spend_dropped.set_function(lambda: float(dropped()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`; with `general_settings.metrics_key`, only for `Authorization: Bearer <metrics_key>`."""
    wanted: str | None = request.app.state.config.accounts.metrics_key
    if wanted is not None:
        key = presented_key(request.headers, [])
        if key is None or not hmac.compare_digest(key.encode(), wanted.encode()):
            error = {"message": "Incorrect or missing metrics key.", "type": "invalid_request_error", "param": None,
                     "code": "invalid_api_key"}
            return Response(_json({"error": error}), 401, media_type="application/json")
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


def _json(value: object) -> bytes:
    import orjson

    return orjson.dumps(value)
