"""Facts both translator directions share: one small mutable record per session.

`Response` and `UserTurn` act on it through `translators/context.py`, so this module imports them, never the reverse.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from schemas.openai import Dialect
from schemas.profiles import ModelProfile
from translators.audio import InputDecoder, RatedPcm, bytes_per_ms, input_decoder
from translators.commands import RecordUsage
from translators.context import SessionKind
from translators.conversation import Conversation
from translators.emit import Emitter
from translators.ids import IdFactory
from translators.response import Response
from translators.session_config import SessionConfig
from translators.tools import Call, CallStatus
from translators.turns import UserTurn

SESSION_LIFETIME_S = 3600  # what OpenAI's GA server reports in expires_at (§3.1); resumption keeps it
MAX_CONVERSATION_BYTES = 64 * 1024 * 1024  # default of general_settings.limits.max_conversation_bytes


class UpstreamPhase(enum.Enum):
    """Where the Gemini connection is."""

    IDLE = "idle"  # no setup sent yet: session.update still merges into the setup
    CONNECTING = "connecting"  # setup sent, waiting for setupComplete; upstream messages are queued
    READY = "ready"  # setupComplete seen
    CLOSED = "closed"  # upstream gone for good


@dataclass(slots=True)
class SessionState:
    """Per-session state read and written by both ClientTranslator and UpstreamTranslator."""

    dialect: Dialect  # the client's dialect, fixed at the handshake
    profile: ModelProfile  # what the upstream model accepts
    model_resource: str  # setup.model, e.g. "models/gemini-3.1-flash-live-preview"
    config: SessionConfig  # the effective OpenAI session config
    ids: IdFactory  # id source for this session
    created_at: int  # unix seconds when the client connected (the gateway's clock, injected)
    kind: SessionKind = SessionKind.REALTIME  # conversation or transcription-only, fixed at the handshake
    session_id: str = ""  # sess_… shown in session.created
    conversation_id: str = ""  # conv_… shown in responses
    conversation: Conversation = field(default_factory=Conversation)  # the items, in order
    max_conversation_bytes: int = MAX_CONVERSATION_BYTES  # client items that would grow it past this are refused
    phase: UpstreamPhase = UpstreamPhase.IDLE  # upstream connection phase
    upstream_text: bool = False  # the setup asked for TEXT (else AUDIO + output transcription)
    pending_upstream: list[dict[str, Any]] = field(default_factory=list)  # queued until setupComplete
    pending_bytes: int = 0  # about how much the client queued there since the last setupComplete (the gateway caps it)
    unsent_items: list[str] = field(default_factory=list)  # conversation items Gemini has not seen
    media: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # item id → its image/audio blobs
    media_bytes: int = 0  # their base64 data's length, summed: kept by `keep_media`/`drop_media`
    response: Response | None = None  # the response being streamed to the client, if any
    user_turn: UserTurn | None = None  # the latest user audio turn (speaking, or awaiting its transcript)
    input_ms: float = 0.0  # input audio received this session, in ms: the clock of audio_start/end_ms
    buffer_ms: float = 0.0  # input audio not yet in a committed user item, in ms
    activity_open: bool = False  # manual turns: activityStart sent, activityEnd not yet
    link_manual: bool = False  # the upstream's setup turned Gemini's VAD off (a session.update waits for the next)
    input_decoder: InputDecoder | RatedPcm | None = None  # the client's input format → Gemini; None: pcm16 24 kHz
    input_bytes_per_ms: float = 48.0  # of the client's input format (pcm16 24 kHz until a session.update)
    item_audio_ms: dict[str, float] = field(default_factory=dict)  # assistant item id → audio ms sent
    calls: dict[str, Call] = field(default_factory=dict)  # OpenAI call_id → Gemini's function call
    pending_calls: int = 0  # of `calls`, those PENDING: kept by `add_call` and `settle`, read per append
    tool_outputs: list[dict[str, Any]] = field(default_factory=list)  # functionResponses for the next trigger
    held_audio: list[dict[str, Any]] = field(default_factory=list)  # mic audio held while calls are pending
    held_ms: float = 0.0  # how much audio is held, in ms
    held_voiced_ms: float = 0.0  # of it, voiced audio since the last long pause (speech over a pending call)
    held_quiet_ms: float = 0.0  # the pause since the last voiced frame, in ms
    ever_ready: bool = False  # some upstream reached setupComplete: a later loss is resumable
    resume_attempts: int = 0  # resumptions since a turn last completed (issue #16 item 2)
    turn_trigger: dict[str, Any] | None = None  # the text that started the turn in flight (asked again if lost)
    turn_items: list[str] = field(default_factory=list)  # the conversation items that trigger carries
    turn_history: list[dict[str, Any]] = field(default_factory=list)  # the turn so far as Gemini turns (2.x)
    turn_calls: list[str] = field(default_factory=list)  # call_ids of the function calls the turn in flight made
    calls_via_history: bool = False  # the calls in flight predate this connection: answer them as history
    handle_fresh: bool = True  # the resumption handle covers every completed turn (no switch before it is)
    going_away: bool = False  # the current upstream sent goAway: its end is planned, not a refusal
    reconnect_pending: bool = False  # a setup change waits for the turn boundary to reconnect
    drain_turns: int = 0  # upstream turns whose remaining content is dropped (cancelled responses)
    resumption_handle: str | None = None  # latest resumable handle from sessionResumptionUpdate
    unbilled: list[RecordUsage] = field(default_factory=list)  # cancelled responses awaiting their turn's usage
    context_update_in_flight: bool = False  # a contextUpdate went out and no turn has completed since
    context_update_refused: bool = False  # Gemini refused a contextUpdate: setup changes reconnect instead
    session_epoch: int = 0  # fresh Gemini sessions started (no handle): the token of their wakeup
    fresh_session_due: bool = False  # the Gemini session reached profile.fresh_session_after_s: replay soon
    emit: Emitter = field(init=False)  # event builder for the client's dialect

    def __post_init__(self) -> None:
        self.emit = Emitter(self.dialect, self.ids)
        self.session_id = self.session_id or self.ids.new("sess")
        self.conversation_id = self.conversation_id or self.ids.new("conv")
        # A session may start from a preset config (an ephemeral secret's, a seed-003 `config`), not only the
        # default: its input format decides the decoder from the first frame on.
        self.input_decoder = self.input_decoder or input_decoder(self.config.input_format)
        self.input_bytes_per_ms = bytes_per_ms(self.config.input_format)

    @property
    def expires_at(self) -> int:
        return self.created_at + SESSION_LIFETIME_S

    @property
    def calls_pending(self) -> bool:
        """Gemini waits for function outputs: it must hear nothing else first (GEMINI_LIVE.md §3.4); a new
        user turn answers them first (translators/supersede.py)."""
        return self.pending_calls > 0 or bool(self.tool_outputs)

    def keep_media(self, item_id: str, blobs: list[dict[str, Any]], size: int) -> None:
        """An item's blobs (`size`: their data's length), kept beside the conversation; `media_bytes` follows, so
        the cap check at each new item sums no blob (translators/items.py `check_room`)."""
        self.media[item_id] = blobs
        self.media_bytes += size

    def drop_media(self, item_id: str) -> None:
        blobs = self.media.pop(item_id, None)
        if blobs:
            self.media_bytes -= sum(len(blob["data"]) for blob in blobs)

    def add_call(self, call_id: str, call: Call) -> None:
        """A call Gemini made; one with an id it used before replaces that one (counted once)."""
        replaced = self.calls.get(call_id)
        self.pending_calls += (call.status is CallStatus.PENDING) - (
            replaced is not None and replaced.status is CallStatus.PENDING
        )
        self.calls[call_id] = call

    def settle(self, call: Call, status: CallStatus) -> None:
        """A call's new status, with `pending_calls` kept in step: `calls_pending` is read per audio append, and
        `calls` holds every call the session made, so it is not walked there (issue #15)."""
        self.pending_calls += (status is CallStatus.PENDING) - (call.status is CallStatus.PENDING)
        call.status = status

    def manual_activity(self) -> bool:
        """Whether activity markers go upstream: the link's setup decides, not a config change still waiting
        for its reconnect (Gemini closes 1007 on markers while its own VAD is on, GEMINI_LIVE.md §3.3)."""
        return self.config.manual_turns if self.phase is UpstreamPhase.IDLE else self.link_manual

    def input_format_set(self) -> None:
        """After `config.input_format` changed: the G.711 decoder, and the bytes per ms the hot path divides by."""
        self.input_decoder = input_decoder(self.config.input_format)
        self.input_bytes_per_ms = bytes_per_ms(self.config.input_format)

    def take_held_audio(self) -> list[dict[str, Any]]:
        """The mic audio held during function calls, once Gemini waits for nothing more."""
        if self.calls_pending or not self.held_audio:
            return []
        held, self.held_audio, self.held_ms = self.held_audio, [], 0.0
        self.held_voiced_ms = self.held_quiet_ms = 0.0
        return held

    def render_session(self) -> dict[str, Any]:
        return self.config.render(self.dialect, self.session_id, self.expires_at)
