"""What one emulated session knows: its phase, its conversation and model turns, the resumption snapshots its
server shares between connections (`behaviour.py` decides; this module only holds)."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from schemas.gemini import Content, FunctionCall, Tool

from .actions import Action
from .routes import Route
from .script import HANDLE_TTL_S, Script
from .setup_rules import SessionConfig
from .vad import Vad

logger = logging.getLogger("livegate.emulator")


class Phase(Enum):
    """Where the session is in its life (one direction: what the client may send next)."""

    AWAIT_SETUP = "await_setup"  # only `setup` is legal (§3.1)
    HISTORY = "history"  # history-only model seeding its initial history with clientContent (§3.2)
    LIVE = "live"  # the conversation
    TOOL_CALL = "tool_call"  # a function call awaits its toolResponse; other input is refused (§3.4)
    CLOSED = "closed"  # a close was decided; further frames are ignored


@dataclass(frozen=True)
class Snapshot:
    """What a resumption handle restores (§5): the conversation, not the in-flight turn."""

    history: tuple[Content, ...]
    audio_seconds: float = 0.0
    spoken_turns: int = 0
    saved_at: float = 0.0
    started_at: float = 0.0  # when the Gemini session began (its deadline counts from here)


class ResumptionStore:
    """Conversation snapshots by resumption handle, shared by the connections of one server (§3.1, §5).

    A handle is valid for `ttl_s` seconds of server time (`clock`) after it was issued (2 h, §5), or
    forever with `ttl_s=None`; an unknown or expired handle is refused with 1008 session not found.
    """

    def __init__(self, ttl_s: float | None = HANDLE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._snapshots: dict[str, Snapshot] = {}  # handle → state when it was issued

    def now(self) -> float:
        return self._clock()

    def save(
        self, history: list[Content], audio_seconds: float = 0.0, spoken_turns: int = 0, started_at: float = 0.0
    ) -> str:
        now = self._clock()
        if self.ttl_s is not None:  # forget expired handles
            self._snapshots = {h: s for h, s in self._snapshots.items() if now - s.saved_at <= self.ttl_s}
        handle = f"emulator-{uuid.uuid4().hex}"
        self._snapshots[handle] = Snapshot(tuple(history), audio_seconds, spoken_turns, now, started_at)
        return handle

    def load(self, handle: str) -> Snapshot | None:
        snapshot = self._snapshots.get(handle)
        if snapshot is None or (self.ttl_s is not None and self._clock() - snapshot.saved_at > self.ttl_s):
            return None
        return snapshot


@dataclass
class ModelTurn:
    """One model turn from its first frame to its turnComplete (§4.1)."""

    id: int
    modality: str
    words: list[str] = field(default_factory=list)  # reply chunks being streamed
    entry: Content | None = None  # the reply's history entry (cut to what was sent on barge-in)
    words_sent: int = 0  # reply chunks already sent
    generation_done: bool = False  # generationComplete sent: too late to interrupt
    interrupted: bool = False
    calls: dict[str, FunctionCall] = field(default_factory=dict)  # pending function calls by id


class SessionState:
    """Everything one connection has seen and decided."""

    def __init__(
        self,
        route: Route,
        script: Script | None = None,
        store: ResumptionStore | None = None,
        record_messages: bool = True,
        connection_index: int = 1,
        call_ids: Iterator[int] | None = None,
    ) -> None:
        self.route = route  # backend and API version of the handshake path
        self.record_messages = record_messages  # keep every decoded message (tests); off for long CLI runs
        self.script = script or Script()  # the emulated model's knobs
        self.store = store or ResumptionStore()  # resumption snapshots (server-wide)
        self.connection_index = connection_index  # 1-based, per server: Script.fault_connections
        self.call_ids = call_ids or itertools.count(1)  # function call ids `fc_<n>` (server-wide)
        self.session_id = uuid.uuid4().hex  # Vertex setupComplete.sessionId (§4)
        self._phase = Phase.AWAIT_SETUP  # changed only through the `phase` setter
        self.config: SessionConfig | None = None  # facts of the accepted setup
        self.setup: dict[str, Any] | None = None  # the raw first `setup` object, accepted or not
        self.messages: list[dict[str, Any]] = []  # every decoded client message, if recorded
        self.client_messages = 0  # decoded client messages (Vertex lastConsumedClientMessageIndex)
        self.history: list[Content] = []  # user and model turns (§3.2), restored on resumption
        # id(turn) → (turn, its text tokens, its images): history entries are replaced, never changed, so each is
        # counted once, not again at every turn (a 3,000-turn session cost 15.7 ms a turn, its first 1.6 ms)
        self.turn_costs: dict[int, tuple[Content, int, int]] = {}
        self.system_instruction: Content | None = None  # from setup, replaced by contextUpdate
        self.tools: list[Tool] = []  # from setup, replaced by contextUpdate
        self.resumed_handle: str | None = None  # the handle this session was resumed from
        self.started_at = self.store.now()  # when the Gemini session began; a resumption keeps the original
        # user input
        self.audio_bytes = 0  # realtime audio received (any format)
        self.audio_seconds = 0.0  # duration of the PCM part of it, billed as AUDIO prompt tokens
        self.audio_ms = 0.0  # PCM audio time received on this connection (speech_segments' clock)
        self.video_frames = 0  # realtime video/image frames received
        self.frames_unanswered = 0  # of them, frames since the model last answered (it mentions them)
        self.vad: Vad | None = None  # automatic activity detection (None: manual, §3.3)
        self.activity_open = False  # between activityStart and activityEnd (manual VAD, §3.3)
        self.activity_text = False  # realtime text arrived inside the open activity (answered at its end)
        self.spoken_turns = 0  # user speech segments so far (numbers the placeholder transcripts)
        self.speech_segments: list[tuple[float, float | None]] = []  # (start, end) in audio ms
        self._speech: str | None = None  # transcript of the user speech in progress
        # the model
        self.turns: dict[int, ModelTurn] = {}  # model turns not yet finished, by id
        self._turn_ids = itertools.count(1)
        self.turns_completed = 0  # model turns finished with turnComplete (not interrupted)
        self.turns_interrupted = 0  # model turns cut by barge-in or a cancelled function call
        self.function_calls: list[FunctionCall] = []  # every call the model made
        self.cancelled_calls: set[str] = set()  # ids sent in toolCallCancellation
        self.crossing: list[Action] = []  # a toolCall still "on the wire" (Script.tool_call_crosses_input)
        self.compressions = 0  # context window compressions applied
        # lifecycle
        self.go_away_scheduled = False
        self.go_aways_sent = 0
        self.faults: list[str] = []  # faults carried out, as "kind@point"
        self.usage_sent: list[dict[str, Any]] = []  # every usageMetadata sent (tests: each billed exactly once)
        self._points: Counter[str] = Counter()  # times each fault point was reached

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, value: Phase) -> None:
        if value is not self._phase:
            logger.debug("session %s: %s -> %s", self.session_id, self._phase.name, value.name)
        self._phase = value

    @property
    def pending_calls(self) -> dict[str, FunctionCall]:
        """Function calls awaiting a toolResponse."""
        return {call_id: call for turn in self.turns.values() for call_id, call in turn.calls.items()}

    @property
    def user_speaking(self) -> bool:
        return self._speech is not None


def config_of(state: SessionState) -> SessionConfig:
    if state.config is None:  # TRANSITIONS guarantee a setup first
        raise RuntimeError("session has no accepted setup")
    return state.config
