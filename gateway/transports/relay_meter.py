"""What a native passthrough session (`/v1/vertex-ai/live`) costs: the setup's model, every `usageMetadata`
(GEMINI_LIVE.md §7) as a spend row of the key and on /metrics, text characters both ways, seed 000's cost line.

Only frames that can carry text or usage are parsed; audio frames are looked at with a substring test.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson

from gateway.accounts.meter import Charge, SessionMeter
from gateway.ops.metrics import Metrics
from gateway.ops.watch import count_charge
from gateway.upstream.endpoints import vertex_model
from schemas.pricing import UsageTally, price_for

log = logging.getLogger("livegate.passthrough")

ALIAS = "vertex-ai/live"  # the passthrough's model_group in spend rows and its alias label on /metrics
COST_LINE = (  # seed 000's log line
    "Vertex AI Live WebSocket session cost: $%.6f (input: $%.6f, output: $%.6f) "
    "tokens: %d, characters: %d, duration: %.1fs"
)
_MODEL = re.compile(r"^(?:publishers/google/models/)?([A-Za-z0-9._-]+)$")  # bare or publisher-relative (§1.4)


class RelayMeter:
    """The session's cost and usage: each `usageMetadata` is priced, queued as a spend row (`SessionMeter`, which
    also charges the key's budget) and counted on /metrics like a realtime session's responses."""

    def __init__(self, project: str, location: str, spend: SessionMeter, metrics: Metrics) -> None:
        self._project, self._location = project, location  # completes the setup's model name (§1.3)
        self.model = ""  # the bare model id from the setup
        self.tally = UsageTally(price=None)
        self.started = time.monotonic()
        self.spend = spend  # spend rows and budget
        self._metrics = metrics
        self._series = metrics.alias(ALIAS)

    def opened(self) -> None:
        self._series.sessions_open.inc()

    def setup(self, raw: str | bytes) -> str | bytes:
        """The first client frame: complete `setup.model` to the full resource name (§1.3), else untouched."""
        try:
            message = orjson.loads(raw)
            setup = message["setup"]
            match = _MODEL.match(setup["model"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return raw
        self.model = setup["model"].rsplit("/", 1)[-1]
        self.tally.price = price_for(self.model)
        if match is None:
            return raw
        setup["model"] = vertex_model(self._project, self._location, match.group(1))
        encoded = orjson.dumps(message)
        return encoded.decode() if isinstance(raw, str) else encoded

    def seen(self, raw: str | bytes, *, upstream: bool) -> Charge | None:
        """Count a frame; a `usageMetadata` from Gemini is priced and recorded (its `Charge` returned)."""
        if isinstance(raw, str):
            relevant = '"text"' in raw or "usageMetadata" in raw
        else:
            relevant = b'"text"' in raw or b"usageMetadata" in raw
        if not relevant:
            return None
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(message, dict):
            return None
        self.tally.characters += _text_length(message)
        usage = message.get("usageMetadata")
        if not (upstream and isinstance(usage, dict)):
            return None
        self.tally.add(usage)
        request_id = f"{self.spend.session_id}-{self.tally.turns}"
        charge = self.spend.record_metadata(request_id, usage, self._deployment(), self.tally.price)
        self._series.responses["completed"].inc()
        count_charge(self._series, charge)
        return charge

    def _deployment(self) -> str | None:
        return f"vertex_ai/{self.model}" if self.model else None

    def log(self, close_code: int | None, close_reason: str | None) -> None:
        """The end: seed 000's cost line, the summary row, the session gauges."""
        t = self.tally
        duration = time.monotonic() - self.started
        log.info(COST_LINE, t.total_usd, t.input_usd, t.output_usd, t.tokens, t.characters, duration)
        self.spend.close(self._deployment(), close_code, close_reason)
        self._series.sessions_open.dec()
        outcome = str(close_code) if close_code is not None else "client_closed"
        self._metrics.sessions.labels(ALIAS, outcome).inc()


def _text_length(value: Any) -> int:
    """Characters of every `text` string in a message (parts, transcriptions, realtimeInput.text)."""
    if isinstance(value, dict):
        return sum(len(v) if k == "text" and isinstance(v, str) else _text_length(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_text_length(v) for v in value)
    return 0
