"""One session's spend: each response priced by modality, queued as a spend row, charged to the key's budget;
a summary row at the end. Called synchronously by the session pump (never awaits)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from gateway.accounts.access import Caller
from gateway.accounts.key_records import Clock, utcnow
from gateway.accounts.ledger import SpendLedger
from gateway.accounts.spend_queue import SpendQueue
from gateway.accounts.spend_rows import PASSTHROUGH, RESPONSE, SESSION, TOKEN_FIELDS, TRANSCRIPTION, SpendRow
from schemas.pricing import Price, cost_of
from translators.commands import RecordUsage, UsageKind
from translators.usage import map_usage

_CALL_TYPES = {UsageKind.RESPONSE: RESPONSE, UsageKind.TRANSCRIPTION: TRANSCRIPTION}


@dataclass(frozen=True)
class Charge:
    """What one response cost and whether its key is now over budget."""

    usd: float
    tokens: dict[str, int]  # TOKEN_FIELDS
    over_budget: bool


@dataclass
class Totals:
    """A session's running totals."""

    usd: float = 0.0
    responses: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))


def tokens_of(usage: dict[str, Any], metadata: dict[str, Any]) -> dict[str, int]:
    """Spend-row token columns from the usage the client saw (OpenAI GA shape), thoughts from Gemini's own."""
    inputs, outputs = usage.get("input_token_details") or {}, usage.get("output_token_details") or {}
    thoughts = metadata.get("thoughtsTokenCount", 0)
    return {
        "prompt_tokens": int(usage.get("input_tokens", 0)),
        "completion_tokens": int(usage.get("output_tokens", 0)),
        "total_tokens": int(usage.get("total_tokens", 0)),
        "input_text_tokens": int(inputs.get("text_tokens", 0)),
        "input_audio_tokens": int(inputs.get("audio_tokens", 0)),
        "input_image_tokens": int(inputs.get("image_tokens", 0)),
        "cached_tokens": int(inputs.get("cached_tokens", 0)),
        "output_text_tokens": int(outputs.get("text_tokens", 0)),
        "output_audio_tokens": int(outputs.get("audio_tokens", 0)),
        "reasoning_tokens": int(thoughts) if str(thoughts).isdigit() else 0,
    }


class SessionMeter:
    """Spend rows for one session (realtime or passthrough)."""

    def __init__(
        self,
        caller: Caller,
        alias: str,
        session_id: str,
        *,
        ledger: SpendLedger,
        queue: SpendQueue,
        store_transcripts: bool = False,
        clock: Clock = utcnow,
    ) -> None:
        self.caller = caller  # whose spend this is
        self._alias = alias  # model_group
        self.session_id = session_id
        self._ledger = ledger  # budget tracking
        self._queue = queue  # rows go to the database from here
        self._transcripts = store_transcripts  # opt-in (general_settings.store_transcripts)
        self._clock = clock
        self.started = clock()
        self._created: dict[str, dt.datetime] = {}  # response id → when response.created went out
        self.totals = Totals()

    def response_created(self, response_id: str) -> None:
        """A response row spans from its response.created to its record."""
        if self._queue.keeps_rows:
            self._created[response_id] = self._clock()

    def record(self, usage: RecordUsage, model: str | None, price: Price | None) -> Charge:
        """One finished response or transcribed utterance (`RecordUsage` from the translators), priced with its
        deployment's rates."""
        tokens = tokens_of(usage.usage, usage.metadata)
        extra = {}
        if self._transcripts:
            extra = {"user_transcript": usage.user_text, "assistant_transcript": usage.assistant_text}
        call_type = _CALL_TYPES[usage.kind]
        return self._charge(usage.response_id, call_type, usage.status, tokens, usage.metadata, model, price, extra)

    def record_metadata(
        self, request_id: str, metadata: dict[str, Any], model: str | None, price: Price | None
    ) -> Charge:
        """One `usageMetadata` of a native passthrough session (no OpenAI usage there)."""
        tokens = tokens_of(map_usage(metadata), metadata)
        return self._charge(request_id, PASSTHROUGH, "completed", tokens, metadata, model, price, {})

    def _charge(
        self,
        request_id: str,
        call_type: str,
        status: str,
        tokens: dict[str, int],
        metadata: dict[str, Any],
        model: str | None,
        price: Price | None,
        extra: dict[str, Any],
    ) -> Charge:
        usd = cost_of(metadata, price).total_usd if metadata else 0.0
        if self._queue.keeps_rows:  # else no row is built: metrics, logs and budgets still see the charge
            now = self._clock()
            start = self._created.pop(request_id, now)
            self._queue.put(self._row(request_id, call_type, status, usd, tokens, model, start, now, **extra))
        totals = self.totals
        totals.usd += usd
        totals.responses += 1
        for name, count in tokens.items():
            totals.tokens[name] += count
        caller = self.caller
        over = False
        if caller.record is not None:
            spent = self._ledger.charge(caller.key_id, usd)
            over = caller.max_budget is not None and spent >= caller.max_budget
        return Charge(usd, tokens, over)

    def close(self, model: str | None, close_code: int | None, close_reason: str | None, **metadata: Any) -> None:
        """The session's summary row (not added to the key's spend: its responses were)."""
        row = self._row(
            self.session_id,
            SESSION,
            "closed",
            self.totals.usd,
            dict(self.totals.tokens),
            model,
            self.started,
            self._clock(),
            turns=self.totals.responses,
            close_code=close_code,
            close_reason=close_reason,
            metadata=metadata,
        )
        self._queue.put(row)

    def _row(
        self,
        request_id: str,
        call_type: str,
        status: str,
        usd: float,
        tokens: dict[str, int],
        model: str | None,
        start: dt.datetime,
        end: dt.datetime,
        **extra: Any,
    ) -> SpendRow:
        caller = self.caller
        return SpendRow(
            request_id=request_id,
            call_type=call_type,
            session_id=self.session_id,
            api_key=caller.key_id,
            key_alias=caller.key_alias,
            user_id=caller.user_id,
            team_id=caller.team_id,
            model_group=self._alias,
            model=model,
            status=status,
            spend=usd,
            start_time=start,
            end_time=end,
            tokens=tokens,
            **extra,
        )
