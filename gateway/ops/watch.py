"""What becomes of one session besides its frames: spend rows (through its `SessionMeter`), metrics, and its
start and end lines. The session pump calls it per response and per upstream event, never per frame."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.accounts.meter import Charge, SessionMeter
from gateway.config import Deployment
from gateway.ops import logs
from gateway.ops.metrics import AliasMetrics, Metrics
from translators.commands import Mark, Milestone, RecordUsage, UsageKind

_FIRST_DELTA = {Milestone.FIRST_AUDIO: "audio", Milestone.FIRST_TEXT: "text"}


@dataclass
class Upstream:
    """The session's upstream links, for the end line, the summary row and metrics."""

    deployment: Deployment  # of the link in use (a fallback may answer instead of the first)
    links: int = 0  # connections set up (the first included)
    resumptions: int = 0  # links that carried a resumption handle
    go_aways: int = 0

    def summary(self) -> dict[str, int]:
        return {"resumptions": self.resumptions, "reconnects": max(0, self.links - 1), "go_aways": self.go_aways}


@dataclass
class SessionWatch:
    """Spend, metrics and log lines of one realtime session (implements `gateway.session.SessionHooks`)."""

    metrics: Metrics
    meter: SessionMeter
    upstream: Upstream
    dialect: str
    client: str | None  # host:port, for the start line
    created: dict[str, float] = field(default_factory=dict)  # response id → monotonic time of response.created
    began: float = field(default_factory=time.monotonic)
    series: AliasMetrics = field(init=False)  # this alias's labelled series

    def __post_init__(self) -> None:
        self.series = self.metrics.alias(self.alias)

    @property
    def alias(self) -> str:
        return self.upstream.deployment.alias

    def started(self) -> None:
        meter = self.meter
        self.series.sessions_open.inc()
        logs.session_started(meter.session_id, self.alias, meter.caller.key_alias, self.dialect, self.client)

    def mark(self, mark: Mark, now: float) -> None:
        if mark.what is Milestone.RESPONSE_CREATED:
            self.created[mark.detail] = now
            self.meter.response_created(mark.detail)
        elif mark.what is Milestone.ERROR:
            self.metrics.client_errors.labels(mark.detail).inc()
        else:
            created = self.created.get(mark.detail)
            if created is not None:
                self.series.first_delta[_FIRST_DELTA[mark.what]].observe(now - created)

    def usage(self, usage: RecordUsage) -> bool:
        """Price and record a finished response (or a transcribed utterance: its tokens and cost count, it is no
        response); True when its key is now over budget."""
        self.created.pop(usage.response_id, None)
        deployment = self.upstream.deployment
        charge = self.meter.record(usage, deployment.model, deployment.price)
        if usage.kind is UsageKind.RESPONSE:
            responses = self.series.responses.get(usage.status)
            (responses or self.metrics.responses.labels(self.alias, usage.status)).inc()
        count_charge(self.series, charge)
        return charge.over_budget

    def dialled(self, seconds: float, deployment: Deployment, resumed: bool) -> None:
        up = self.upstream
        up.links += 1
        up.deployment = deployment
        self.series.dial.observe(seconds)
        if up.links > 1:
            self.series.upstream_events["reconnect"].inc()
        if resumed:
            up.resumptions += 1
            self.series.upstream_events["resumption"].inc()

    def go_away(self) -> None:
        self.upstream.go_aways += 1
        self.series.upstream_events["go_away"].inc()

    def overflow(self, direction: str) -> None:
        self.metrics.backlog_overflows.labels(direction).inc()

    def ended(self, close_code: int | None, close_reason: str | None) -> None:
        """The summary row, the gauges, the end line."""
        up, meter = self.upstream, self.meter
        meter.close(up.deployment.model, close_code, close_reason, dialect=self.dialect, **up.summary())
        outcome = str(close_code) if close_code is not None else "client_closed"
        self.series.sessions_open.dec()
        self.metrics.sessions.labels(self.alias, outcome).inc()
        totals = meter.totals
        logs.session_ended(
            meter.session_id,
            self.alias,
            key_alias=meter.caller.key_alias,
            duration_s=round(time.monotonic() - self.began, 3),
            turns=totals.responses,
            tokens=totals.tokens["total_tokens"],
            cost_usd=f"{totals.usd:.6f}",
            close=outcome,
            deployment=up.deployment.model,
            **up.summary(),
        )


def count_charge(series: AliasMetrics, charge: Charge) -> None:
    """A priced usage on /metrics: tokens by direction and modality, and its cost."""
    tokens = charge.tokens
    for name, counter in series.tokens:
        count = tokens.get(name, 0)
        if count:
            counter.inc(count)
    if charge.usd:
        series.spend.inc(charge.usd)
