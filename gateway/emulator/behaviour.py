"""One emulated Live session as a pure state machine: a client frame in, the actions to perform out.

Every protocol decision lives here (GEMINI_LIVE.md §2-§5); `server.py` only moves frames. The server runs
the returned actions in order on one writer per connection, and calls back:

* `commit(state, action)` just before it sends a frame, so the session knows how far a streamed reply got
  (barge-in truncates the model's turn to what was sent) and can add the frames that follow that moment
  (a turn's resumption handle, goAway, a scripted fault);
* `on_timer(state, name)` when a `Timer` runs out (goAway and its deadline).

`deliver(state, actions)` does what a zero-latency writer would do, for tests without sockets.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from schemas.gemini import (
    Blob,
    ClientContentMessage,
    ClientMessage,
    Content,
    ContextUpdateMessage,
    FunctionCall,
    FunctionDeclaration,
    FunctionResponse,
    GeminiProtocolError,
    Part,
    RealtimeInputMessage,
    ServerMessage,
    SetupComplete,
    SetupMessage,
    Tool,
    ToolResponseMessage,
    decode_frame,
    parse_client_message,
    truncate_reason,
)
from schemas.profiles import Backend

from . import replies
from .routes import Route
from .script import HANDLE_TTL_S, Script  # Script lived here first: still importable from here
from .setup_rules import INVALID_ARGUMENT, SessionConfig, check_setup, check_tools, invalid_argument
from .tools import call_args, match_declaration, reply_after_tool
from .vad import Vad, VadEvent, VadSettings, pcm_rate

logger = logging.getLogger("livegate.emulator")

API_KEY_INVALID = "API key not valid. Please pass a valid API key."
SESSION_NOT_FOUND = "BidiGenerateContent session not found"
OPERATION_ABORTED = "The operation was aborted"  # §3.4 / §5.1: input while a function call is pending
# §5.1 [FIELD pollen-robotics/reachy_mini_conversation_app#357]: the close when a goAway's time ran out.
GO_AWAY_EXPIRED = truncate_reason(
    "Connection aborted because the client failed to close the connection after receiving a GoAway signal "
    "once the session duration expired"
)
GO_AWAY_CLOSE_CODE = 1008
# The close at a session's deadline ([FIELD] google/adk-python#4140, kazunori279/adk-streaming-guide#11).
DEADLINE_EXPIRED = "Deadline expired before operation could complete."
_INLINE_IMAGES = frozenset({"image/jpeg", "image/png"})  # images Live takes (JPEG frames; PNG per Firebase)


class Phase(Enum):
    """Where the session is in its life (one direction: what the client may send next)."""

    AWAIT_SETUP = "await_setup"  # only `setup` is legal (§3.1)
    HISTORY = "history"  # history-only model seeding its initial history with clientContent (§3.2)
    LIVE = "live"  # the conversation
    TOOL_CALL = "tool_call"  # a function call awaits its toolResponse; other input is refused (§3.4)
    CLOSED = "closed"  # a close was decided; further frames are ignored


# The legal moves by message kind (h11 style). A missing key closes with 1007; handlers refine the target.
TRANSITIONS: dict[Phase, dict[str, Phase]] = {
    Phase.AWAIT_SETUP: {"setup": Phase.LIVE},
    Phase.HISTORY: {"clientContent": Phase.HISTORY, "contextUpdate": Phase.HISTORY},
    Phase.LIVE: {
        "clientContent": Phase.LIVE,
        "realtimeInput": Phase.LIVE,
        "toolResponse": Phase.LIVE,
        "contextUpdate": Phase.LIVE,
    },
    Phase.TOOL_CALL: {  # realtime input and clientContent: 1008 unless the Script relaxes it (handlers)
        "clientContent": Phase.TOOL_CALL,
        "realtimeInput": Phase.TOOL_CALL,
        "toolResponse": Phase.TOOL_CALL,
        "contextUpdate": Phase.TOOL_CALL,
    },
    Phase.CLOSED: {},
}

# Why a move missing from TRANSITIONS is illegal, by (phase, kind); `None` matches any kind.
_ILLEGAL: dict[tuple[Phase, str | None], str] = {
    (Phase.AWAIT_SETUP, None): invalid_argument("the first message must be setup."),
    (Phase.HISTORY, "setup"): invalid_argument("setup may be sent only once."),
    (Phase.LIVE, "setup"): invalid_argument("setup may be sent only once."),
    (Phase.TOOL_CALL, "setup"): invalid_argument("setup may be sent only once."),
    (Phase.HISTORY, None): invalid_argument("end the initial history with clientContent turnComplete:true first."),
}


# --- actions ---------------------------------------------------------------------------------------


class Step(Enum):
    """What sending a frame means to the session (`commit` reacts to it)."""

    CONTENT = "content"  # modelTurn chunk of reply word `word` (audio or text)
    TRANSCRIPT = "transcript"  # outputTranscription of reply word `word`
    GENERATION_COMPLETE = "generation_complete"
    TURN_COMPLETE = "turn_complete"
    TOOL_CALL = "tool_call"
    GO_AWAY = "go_away"


@dataclass(frozen=True)
class Send:
    """Send one server message (a camelCase dict) as a binary frame."""

    message: dict[str, Any]
    turn: int | None = None  # the model turn it belongs to: `Cancel(turn)` drops it while unsent
    step: Step | None = None
    word: int | None = None  # reply word index of CONTENT / TRANSCRIPT frames


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with this code and (≤123-byte) reason."""

    code: int
    reason: str


@dataclass(frozen=True)
class Pause:
    """Reply pacing: wait before the next action. Cut short when its turn is cancelled."""

    seconds: float
    turn: int | None = None


@dataclass(frozen=True)
class Stall:
    """A scripted stall: send nothing for `seconds` (None: ever again); the socket stays open."""

    seconds: float | None


@dataclass(frozen=True)
class Drop:
    """A scripted transport abort: the TCP connection goes away without a close frame."""


@dataclass(frozen=True)
class Timer:
    """Call `on_timer(state, name)` after `seconds` of wall clock, counted from when this action is reached."""

    seconds: float
    name: str


@dataclass(frozen=True)
class Cancel:
    """Barge-in: drop every queued, unsent action of model turn `turn` (processed when queued)."""

    turn: int


Action = Send | Close | Pause | Stall | Drop | Timer | Cancel


# --- server-wide state -------------------------------------------------------------------------------


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


# --- per-connection state ----------------------------------------------------------------------------


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


# --- entry points ------------------------------------------------------------------------------------


def on_open(state: SessionState, authorized: bool) -> list[Action]:
    """Actions right after the upgrade: a bad Developer API key is refused with 1007 (§1.2, §5.1)."""
    if authorized:
        return []
    state.phase = Phase.CLOSED
    return [Close(1007, API_KEY_INVALID)]


def receive(state: SessionState, raw: str | bytes) -> list[Action]:
    """Handle one client frame (text or binary JSON); a protocol violation becomes a `Close`."""
    if state.phase is Phase.CLOSED:
        return []
    crossed, state.crossing = state.crossing, []  # a toolCall this message crossed reaches the client first
    try:
        decoded = decode_frame(raw)
        state.client_messages += 1
        _record(state, decoded)
        return crossed + _dispatch(state, parse_client_message(decoded))
    except GeminiProtocolError as exc:
        state.phase = Phase.CLOSED
        logger.info("session %s: closing %d %s", state.session_id, exc.code, exc.reason)
        return [*crossed, Close(exc.code, exc.reason)]


def commit(state: SessionState, action: Action) -> list[Action]:
    """`action` is being carried out now; returns the actions that must come right after it."""
    if not isinstance(action, Send) or action.step is None:
        return []
    turn = state.turns.get(action.turn) if action.turn is not None else None
    step = action.step
    if step is Step.GO_AWAY:
        state.go_aways_sent += 1
    elif step is Step.TOOL_CALL:
        return _reach(state, "mid_tool_call")
    elif turn is None:
        return []
    elif step is Step.CONTENT:
        turn.words_sent = max(turn.words_sent, (action.word or 0) + 1)
        if action.word == 0:
            return _reach(state, "mid_text" if turn.modality == "TEXT" else "mid_audio")
    elif step is Step.TRANSCRIPT and action.word == 0:
        return _reach(state, "mid_text")
    elif step is Step.GENERATION_COMPLETE:
        turn.generation_done = True
    elif step is Step.TURN_COMPLETE:
        return _end_turn(state, turn)
    return []


def on_timer(state: SessionState, name: str) -> list[Action]:
    """A `Timer` ran out: "go_away" sends the goAway, "go_away_expired" and "deadline" close the connection (§5)."""
    if state.phase is Phase.CLOSED:
        return []
    if name == "go_away":
        return [] if state.go_away_scheduled else _go_away(state)
    if name == "go_away_expired":
        state.phase = Phase.CLOSED
        return [Close(GO_AWAY_CLOSE_CODE, GO_AWAY_EXPIRED)]
    if name == "deadline":
        state.phase = Phase.CLOSED
        return [Close(1011, DEADLINE_EXPIRED)]
    raise ValueError(f"unknown timer {name!r}")


def deliver(state: SessionState, actions: list[Action]) -> list[Action]:
    """What a zero-latency writer does with `actions`: for tests without sockets.

    Cancelled actions are dropped, every frame is committed and followed by what its commit adds, pauses
    are skipped; it stops after a `Close` or `Drop`. Timers and stalls are returned, not run.
    """
    queue: deque[Action] = deque()
    for action in actions:
        if isinstance(action, Cancel):
            queue = deque(a for a in queue if getattr(a, "turn", None) != action.turn)
        else:
            queue.append(action)
    done: list[Action] = []
    while queue:
        action = queue.popleft()
        if isinstance(action, Pause):
            continue
        follow = commit(state, action)
        done.append(action)
        if isinstance(action, Close | Drop):
            break
        queue.extendleft(reversed(follow))
    return done


# --- dispatch ----------------------------------------------------------------------------------------


def _record(state: SessionState, decoded: Any) -> None:
    """Keep what the client sent, as sent, for tests of other components."""
    if not isinstance(decoded, dict):
        return
    if state.record_messages:
        state.messages.append(decoded)
    if state.setup is None and isinstance(decoded.get("setup"), dict):
        state.setup = decoded["setup"]


def _dispatch(state: SessionState, message: ClientMessage) -> list[Action]:
    target = TRANSITIONS[state.phase].get(message.KIND)
    if target is None:
        reason = _ILLEGAL.get((state.phase, message.KIND)) or _ILLEGAL[(state.phase, None)]
        raise GeminiProtocolError(reason=reason)
    state.phase = target
    return _HANDLERS[message.KIND](state, message)


def _config(state: SessionState) -> SessionConfig:
    if state.config is None:  # TRANSITIONS guarantee a setup first
        raise RuntimeError("session has no accepted setup")
    return state.config


# --- handlers ----------------------------------------------------------------------------------------


def _on_setup(state: SessionState, message: SetupMessage) -> list[Action]:
    setup = message.setup
    config = check_setup(setup, state.route)
    if config.resume_handle:
        snapshot = state.store.load(config.resume_handle)
        if snapshot is None:  # §5.1: a stale or invalid handle
            raise GeminiProtocolError(code=1008, reason=SESSION_NOT_FOUND)
        deadline = state.script.session_deadline_s
        if deadline is not None and state.store.now() - snapshot.started_at >= deadline:
            raise GeminiProtocolError(reason=INVALID_ARGUMENT)  # a session past its deadline cannot resume
        state.history = list(snapshot.history)
        state.audio_seconds = snapshot.audio_seconds
        state.spoken_turns = snapshot.spoken_turns
        state.started_at = snapshot.started_at
        state.resumed_handle = config.resume_handle
    state.config = config
    state.system_instruction = setup.system_instruction
    state.tools = list(setup.tools or [])
    if not config.manual_activity:
        state.vad = Vad(
            VadSettings.from_setup(
                state.script.vad_threshold,
                start_sensitivity=config.start_sensitivity,
                end_sensitivity=config.end_sensitivity,
                prefix_padding_ms=config.prefix_padding_ms,
                silence_duration_ms=config.silence_duration_ms,
                vertex=state.route.backend is Backend.VERTEX,
            )
        )
    # §3.2 + SDK HistoryConfig: the server first takes clientContent until turnComplete. A resumed session
    # has begun already: its history is restored, not seeded again.
    state.phase = Phase.HISTORY if config.initial_history and not state.resumed_handle else Phase.LIVE
    actions = _reach(state, "before_setup_complete")
    if state.phase is Phase.CLOSED:  # a scripted close or drop instead of setupComplete
        return actions
    # §4 / §8: `{}` on the Developer API, `{"sessionId": …}` on Vertex.
    session_id = state.session_id if state.route.backend is Backend.VERTEX else None
    actions.append(Send(ServerMessage(setup_complete=SetupComplete(session_id=session_id)).to_wire()))
    script = state.script
    if script.go_away_after_s is not None and script.applies_to(state.connection_index):
        actions.append(Timer(script.go_away_after_s, "go_away"))
    if script.session_deadline_s is not None:
        left = script.session_deadline_s - (state.store.now() - state.started_at)
        actions.append(Timer(max(left, 0.0), "deadline"))
    return actions


def _on_client_content(state: SessionState, message: ClientContentMessage) -> list[Action]:
    """§3.2. On history-only models (3.x) clientContent is legal only while seeding initial history.

    The rule, precisely: such a model refuses every clientContent (1007) unless the setup set
    `historyConfig.initialHistoryInClientContent`; then clientContent frames are history until one carries
    `turnComplete: true`, which ends the history *without* a model call (SDK `HistoryConfig` doc); after
    that any clientContent is 1007, and realtime input before it is 1007 too (TRANSITIONS). Other models
    append the turns and reply when `turnComplete` is true. Any clientContent interrupts the model (§3.2).
    """
    config = _config(state)
    content = message.client_content
    if config.profile.history_at_start_only and state.phase is not Phase.HISTORY:
        raise GeminiProtocolError(reason=INVALID_ARGUMENT)
    for turn in content.turns or []:
        if turn.role not in (None, "user", "model"):
            raise GeminiProtocolError(reason="Please use a valid role: user, model.")
        _check_inline(turn)
        state.audio_seconds += replies.inline_media(turn)[1] / 1000  # given audio is billed like streamed audio
    actions = _new_input(state)
    state.history.extend(content.turns or [])
    if not content.turn_complete:
        return actions
    if state.phase is Phase.HISTORY:
        state.phase = Phase.LIVE
        return actions
    return actions + _model_turn(state)


def _check_inline(turn: Content) -> None:
    """Inline data in a turn: images (JPEG/PNG) and PCM audio (§3.3 formats); anything else is refused."""
    for part in turn.parts:
        mime = (part.inline_data.mime_type or "") if part.inline_data is not None else None
        if mime is not None and mime not in _INLINE_IMAGES and not mime.startswith("audio/pcm"):
            raise GeminiProtocolError(reason=invalid_argument(f'unsupported inline data mime type "{mime}".'))


def _on_realtime_input(state: SessionState, message: RealtimeInputMessage) -> list[Action]:
    config = _config(state)
    realtime = message.realtime_input
    # §3.3: activityStart/activityEnd only with automaticActivityDetection.disabled.
    if (realtime.activity_start or realtime.activity_end) and not config.manual_activity:
        raise GeminiProtocolError(
            reason="Explicit activity control is not supported when automatic activity detection is enabled."
        )
    actions: list[Action] = []
    if realtime.activity_start:
        actions += _activity_start(state)
    if realtime.audio is not None:
        actions += _take_audio(state, realtime.audio, "realtime_input.audio")
    if realtime.video is not None:
        _take_video(state, realtime.video, "realtime_input.video")
    for chunk in realtime.media_chunks or []:  # deprecated: audio or image blobs (§3.3)
        if (chunk.mime_type or "").startswith("image/"):
            _take_video(state, chunk, "realtime_input.media_chunks")
        else:
            actions += _take_audio(state, chunk, "realtime_input.media_chunks")
    if realtime.audio_stream_end and state.vad is not None:  # automatic VAD only; ignored otherwise
        actions += _on_vad_events(state, state.vad.flush())
    if realtime.activity_end:
        actions += _activity_end(state)
    if realtime.text is None:
        return actions
    actions += _new_input(state)
    state.history.append(Content(role="user", parts=[Part(text=realtime.text)]))
    if state.activity_open:  # manual: typed text joins the user's activity and is answered at its end
        state.activity_text = True
        return actions
    return actions + _model_turn(state)


def _take_audio(state: SessionState, blob: Blob, where: str) -> list[Action]:
    mime = blob.mime_type or ""
    if not mime.startswith("audio/"):  # §3.3: audio must be audio/*
        raise GeminiProtocolError(reason=invalid_argument(f'unsupported mime type "{mime}" in {where}.'))
    if state.phase is Phase.TOOL_CALL and state.script.abort_on_input_during_tool_call:
        raise GeminiProtocolError(code=1008, reason=OPERATION_ABORTED)  # §3.4 [FIELD]
    pcm = blob.raw()
    state.audio_bytes += len(pcm)
    rate = pcm_rate(mime)
    if rate is None:  # compressed audio: counted, not listened to
        return []
    offset_ms = state.audio_ms
    state.audio_seconds += len(pcm) / 2 / rate
    state.audio_ms += len(pcm) / 2 / rate * 1000.0
    if state.vad is not None:
        return _on_vad_events(state, state.vad.feed(pcm, rate))
    if state.activity_open and state._speech is None and pcm:  # manual: the activity's first audio
        return _speech_start(state, offset_ms)
    return []


def _take_video(state: SessionState, blob: Blob, where: str) -> None:
    mime = blob.mime_type or ""
    if not mime.startswith("image/"):  # §3.3: frames are JPEG/PNG images
        raise GeminiProtocolError(reason=invalid_argument(f'unsupported mime type "{mime}" in {where}.'))
    state.video_frames += 1
    state.frames_unanswered += 1


def _on_tool_response(state: SessionState, message: ToolResponseMessage) -> list[Action]:
    """§3.4: answers to pending calls continue their turn; a late answer to a cancelled call is ignored."""
    responses = message.tool_response.function_responses or []
    # §3.4 / §8: the Developer API requires the call id; Vertex allows it to be absent.
    for index, response in enumerate(responses):
        if state.route.backend is Backend.GEMINI and not response.id:
            raise GeminiProtocolError(reason=invalid_argument(f"function_responses[{index}].id is required."))
    answered: dict[int, list[tuple[FunctionCall, FunctionResponse]]] = {}
    for response in responses:
        call_id = response.id or _pending_by_name(state, response.name)
        if call_id is None or call_id in state.cancelled_calls:
            continue  # Vertex answer matching no call, or the call was cancelled: nothing to continue
        turn = next((t for t in state.turns.values() if call_id in t.calls), None)
        if turn is None:
            raise GeminiProtocolError(
                reason=f"Invalid function response id '{call_id}': no pending function call has this id."
            )
        answered.setdefault(turn.id, []).append((turn.calls.pop(call_id), response))
    if state.phase is Phase.TOOL_CALL and not state.pending_calls:
        state.phase = Phase.LIVE
    actions: list[Action] = []
    for turn_id, pairs in answered.items():
        turn = state.turns[turn_id]
        if not turn.calls:  # every call of the turn answered: the model goes on speaking (§4.1)
            actions += _continue_after_tools(state, turn, pairs)
    return actions


def _pending_by_name(state: SessionState, name: str | None) -> str | None:
    pending = state.pending_calls
    if name is None:
        return next(iter(pending)) if len(pending) == 1 else None
    return next((call_id for call_id, call in pending.items() if call.name == name), None)


def _on_context_update(state: SessionState, message: ContextUpdateMessage) -> list[Action]:
    # §3.5: a new system instruction and/or tools; an absent `tools` keeps the current ones. Only models whose
    # profile says so take it (schemas/profiles.py context_update); the others refuse it like an unknown field.
    if not _config(state).profile.context_update:
        raise GeminiProtocolError(reason=invalid_argument("contextUpdate is not supported for this model."))
    update = message.context_update
    if update.tools is not None:
        tools = list(update.tools.tools or [])
        check_tools(tools, _config(state).profile)
        state.tools = tools
    if update.system_instruction is not None:
        state.system_instruction = update.system_instruction
    return []


# --- user turns ---------------------------------------------------------------------------------------


def _new_input(state: SessionState) -> list[Action]:
    """Typed input (clientContent, realtime text): refused during a pending call (§3.4), else interrupts."""
    if _config(state).profile.transcription_only:  # a transcription model only listens
        raise GeminiProtocolError(reason=invalid_argument("text input is not supported for this model."))
    if state.phase is Phase.TOOL_CALL and state.script.abort_on_input_during_tool_call:
        raise GeminiProtocolError(code=1008, reason=OPERATION_ABORTED)
    return _interrupt(state)


def _user_activity(state: SessionState) -> list[Action]:
    """The user started speaking: barge-in unless NO_INTERRUPTION; a pending call is always cancelled."""
    if state.phase is Phase.TOOL_CALL or _config(state).interrupts:
        return _interrupt(state)
    return []


def _activity_start(state: SessionState) -> list[Action]:
    if state.activity_open:
        return []  # already open: nothing changes
    state.activity_open = True
    return _user_activity(state)


def _activity_end(state: SessionState) -> list[Action]:
    if not state.activity_open:
        return []
    typed, state.activity_open, state.activity_text = state.activity_text, False, False
    if state._speech is None:  # no audio in the activity: a user turn only if text was typed in it
        return _model_turn(state) if typed else []
    return _speech_end(state, state.audio_ms)


def _on_vad_events(state: SessionState, events: list[VadEvent]) -> list[Action]:
    actions: list[Action] = []
    for event in events:
        if event.kind == "start":
            actions += _user_activity(state)
            actions += _speech_start(state, event.offset_ms)
        else:
            actions += _speech_end(state, event.offset_ms)
    return actions


def _speech_start(state: SessionState, offset_ms: float) -> list[Action]:
    """A spoken user turn begins: number it and send the first input transcription fragment."""
    state.spoken_turns += 1
    transcripts = state.script.user_transcripts
    n = state.spoken_turns
    state._speech = transcripts[n - 1] if n <= len(transcripts) else f"user speech {n}"
    state.speech_segments.append((offset_ms, None))
    words = replies.word_chunks(state._speech)
    if words and _config(state).profile.transcription_only:  # live transcription: a running snapshot
        return [Send(replies.interim_transcript_frame(words[0].strip()))]
    if not (_config(state).input_transcription and words):
        return []
    return [Send(replies.input_transcript_frame(words[0]))]


def _speech_end(state: SessionState, offset_ms: float) -> list[Action]:
    """The spoken turn ends: the rest of its transcript, then the model answers it like text."""
    transcript, state._speech = state._speech or "", None
    start, _ = state.speech_segments[-1]
    state.speech_segments[-1] = (start, offset_ms)
    if _config(state).profile.transcription_only:
        return _transcribed(state, transcript, (offset_ms - start) / 1000)
    actions: list[Action] = []
    rest = "".join(replies.word_chunks(transcript)[1:])
    if _config(state).input_transcription and rest:
        actions.append(Send(replies.input_transcript_frame(rest)))
    if state.phase is Phase.TOOL_CALL:  # only when the Script lets audio through a pending call
        actions += _interrupt(state)
    state.history.append(Content(role="user", parts=[Part(text=transcript)]))
    return actions + _model_turn(state)


def _transcribed(state: SessionState, transcript: str, seconds: float) -> list[Action]:
    """A transcription model's utterance end: the whole snapshot, the final transcript (no `finished`), then
    generationComplete with the utterance's usage; no model turn and no turnComplete (live-transcribe)."""
    tokens = {"AUDIO": round(seconds * state.script.audio_tokens_per_second)}
    usage = replies.usage(state.route.backend, tokens, replies.count_tokens(transcript), "TEXT")
    return [
        Send(replies.interim_transcript_frame(transcript)),
        Send(replies.input_transcript_frame(transcript)),
        Send(replies.generation_complete_frame(usage)),
    ]


# --- model turns --------------------------------------------------------------------------------------


def _pending_user_text(history: list[Content]) -> str:
    """The text of the last turn if it is the user's, else "" (the model already answered)."""
    if history and history[-1].role in (None, "user"):
        return history[-1].text()
    return ""


def _turn_costs(state: SessionState) -> list[tuple[Content, int, int]]:
    """(turn, text tokens, images) of each history turn, counted once per turn object."""
    known = state.turn_costs
    if len(known) > len(state.history) + 64:  # turns compressed, cut or replaced: forget those
        known = state.turn_costs = {id(turn): known[id(turn)] for turn in state.history if id(turn) in known}
    costs = []
    for turn in state.history:
        cost = known.get(id(turn))
        if cost is None:  # (an entry holds its turn, so no other object can have its id meanwhile)
            cost = known[id(turn)] = (turn, replies.content_tokens(turn), replies.inline_media(turn)[0])
        costs.append(cost)
    return costs


def _prompt_tokens(state: SessionState) -> dict[str, int]:
    # §7: every turn re-bills the whole context (system instruction, history, audio so far, images, frames).
    system = state.system_instruction.text() if state.system_instruction else ""
    costs = _turn_costs(state)
    text = replies.count_tokens(system) + sum(tokens for _, tokens, _ in costs)
    audio = round(state.audio_seconds * state.script.audio_tokens_per_second)
    images = sum(count for _, _, count in costs) * replies.IMAGE_TOKENS
    return {"TEXT": text, "AUDIO": audio, "IMAGE": images, "VIDEO": state.video_frames * replies.IMAGE_TOKENS}


def _is_user_text(content: Content) -> bool:
    return content.role in (None, "user") and any(part.text for part in content.parts)


def _compress(state: SessionState) -> None:
    """§3.1 sliding window: over `trigger` tokens, drop the oldest turns down to `target`.

    The cut is always at the start of a user turn with text (never between a function call and its
    response), the system instruction is kept and counted, and the newest user turn is never dropped.
    Input audio tokens are not compressed.
    """
    limits = _config(state).compression
    if limits is None:
        return
    trigger, target = limits
    system = replies.count_tokens(state.system_instruction.text()) if state.system_instruction else 0
    sizes = [tokens for _, tokens, _ in _turn_costs(state)]
    if system + sum(sizes) <= trigger:
        return
    starts = [k for k, turn in enumerate(state.history) if k > 0 and _is_user_text(turn)]
    if not starts:
        return
    keep = next((k for k in starts if system + sum(sizes[k:]) <= target), starts[-1])
    del state.history[:keep]
    state.compressions += 1
    logger.debug("session %s: compressed the context, %d turns dropped", state.session_id, keep)


def _model_turn(state: SessionState) -> list[Action]:
    """The model answers the pending user text: a function call if it names a declared function, else words."""
    config = _config(state)
    user_text = _pending_user_text(state.history)
    _compress(state)
    turn = ModelTurn(id=next(state._turn_ids), modality=config.modality)
    state.turns[turn.id] = turn
    actions: list[Action] = []
    if state.script.reply_latency_s > 0:  # time to first token: not a single frame before it
        actions.append(Pause(state.script.reply_latency_s, turn.id))
    if config.resumable:  # §4: not resumable while the model is generating or waiting for a function
        actions.append(Send(replies.resumption_frame(None), turn.id))
    answers = _function_answers(state.history)
    if answers:  # function responses given as history (clientContent) are answered as a toolResponse is
        return actions + _reply(state, turn, " ".join(reply_after_tool(r.name or "", r.response) for r in answers))
    declaration = match_declaration(state.tools, user_text) if state.script.tool_calls and user_text else None
    if declaration is not None:
        return actions + _call_function(state, turn, declaration, user_text)
    last = state.history[-1] if state.history and state.history[-1].role in (None, "user") else None
    images, audio_ms = replies.inline_media(last) if last is not None else (0, 0)
    note = replies.media_note(images + state.frames_unanswered, audio_ms)
    state.frames_unanswered = 0
    return actions + _reply(state, turn, replies.reply_text((user_text + note).strip()))


def _function_answers(history: list[Content]) -> list[FunctionResponse]:
    """The function responses of the last history turn, when it is a user turn made only of them."""
    if not history or history[-1].role not in (None, "user"):
        return []
    parts = history[-1].parts or []
    answers = [part.function_response for part in parts if part.function_response is not None]
    return answers if answers and len(answers) == len(parts) else []


def _reply(state: SessionState, turn: ModelTurn, text: str) -> list[Action]:
    """The reply's frames (§4.1), paced by `Script.reply_chunk_interval_s`; the model turn enters history."""
    config, script = _config(state), state.script
    usage = replies.usage(state.route.backend, _prompt_tokens(state), replies.count_tokens(text), turn.modality)
    turn.entry = Content(role="model", parts=[Part(text=text)])
    state.history.append(turn.entry)
    turn.words = replies.word_chunks(text)
    actions: list[Action] = []
    for index, chunk in enumerate(turn.words):
        frame = replies.content_frame(index, chunk, modality=turn.modality, audio_ms=script.audio_ms_per_word)
        actions.append(Send(frame, turn.id, Step.CONTENT, index))
        if turn.modality == "AUDIO" and config.output_transcription:
            actions.append(Send(replies.output_transcript_frame(chunk), turn.id, Step.TRANSCRIPT, index))
        if script.reply_chunk_interval_s > 0:
            actions.append(Pause(script.reply_chunk_interval_s, turn.id))
    actions.append(Send(replies.generation_complete_frame(), turn.id, Step.GENERATION_COMPLETE))
    actions.append(Send(replies.turn_complete_frame(usage), turn.id, Step.TURN_COMPLETE))
    return actions


def _call_function(
    state: SessionState, turn: ModelTurn, declaration: FunctionDeclaration, user_text: str
) -> list[Action]:
    """§4 toolCall: one call with deterministic arguments; the turn waits for its toolResponse."""
    call_id = f"fc_{next(state.call_ids)}"
    call = FunctionCall(id=call_id, name=declaration.name, args=call_args(declaration, user_text))
    state.function_calls.append(call)
    actions: list[Action] = [Send(replies.tool_call_frame([call]), turn.id, Step.TOOL_CALL)]
    if state.script.cancel_tool_calls:  # scripted: the call is withdrawn at once, as on a barge-in
        state.cancelled_calls.add(call_id)
        turn.interrupted = True
        actions.append(Send(replies.tool_cancellation_frame([call_id]), turn.id))
        actions.append(Send(replies.interrupted_frame(), turn.id))
        actions.append(Send(replies.turn_complete_frame(), turn.id, Step.TURN_COMPLETE))
        return actions
    turn.calls[call_id] = call
    state.phase = Phase.TOOL_CALL
    if state.script.tool_call_crosses_input and state.script.applies_to(state.connection_index):
        state.crossing += actions  # sent when the client's next message arrives (`receive`)
        return []
    return actions


def _continue_after_tools(
    state: SessionState, turn: ModelTurn, answered: list[tuple[FunctionCall, FunctionResponse]]
) -> list[Action]:
    """The calls and their responses enter history; the model then says what the functions returned."""
    for call, response in answered:
        state.history.append(Content(role="model", parts=[Part(function_call=call)]))
        result = FunctionResponse(id=call.id, name=call.name, response=response.response)
        state.history.append(Content(role="user", parts=[Part(function_response=result)]))
    text = " ".join(reply_after_tool(call.name, response.response) for call, response in answered)
    return _reply(state, turn, text)


def _interrupt(state: SessionState) -> list[Action]:
    """Barge-in (§4.1): every model turn still generating stops with interrupted + turnComplete.

    Unsent frames of the turn are dropped (`Cancel`), a pending call is cancelled (toolCallCancellation),
    the model's history entry keeps only the words already sent. A turn whose generationComplete went out
    is not interrupted (there is no generationComplete in an interrupted turn).
    """
    actions: list[Action] = []
    for turn in list(state.turns.values()):
        if turn.interrupted or turn.generation_done:
            continue
        turn.interrupted = True
        actions.append(Cancel(turn.id))
        if turn.calls:
            ids = list(turn.calls)
            state.cancelled_calls.update(ids)
            turn.calls.clear()
            actions.append(Send(replies.tool_cancellation_frame(ids), turn.id))
        _truncate(state, turn)
        actions.append(Send(replies.interrupted_frame(), turn.id))
        actions.append(Send(replies.turn_complete_frame(), turn.id, Step.TURN_COMPLETE))
    if state.phase is Phase.TOOL_CALL:
        state.phase = Phase.LIVE
    return actions


def _truncate(state: SessionState, turn: ModelTurn) -> None:
    index = next((i for i, content in enumerate(state.history) if content is turn.entry), None)
    turn.entry = None
    if index is None:
        return
    spoken = "".join(turn.words[: turn.words_sent]).strip()
    if spoken:
        state.history[index] = Content(role="model", parts=[Part(text=spoken)])
    else:
        del state.history[index]


def _end_turn(state: SessionState, turn: ModelTurn) -> list[Action]:
    """turnComplete is out: the resumable handle when idle, a goAway after N turns, a between-turns fault."""
    del state.turns[turn.id]
    if turn.interrupted:
        state.turns_interrupted += 1
    else:
        state.turns_completed += 1
    config, script = _config(state), state.script
    follow: list[Action] = []
    if config.resumable and not state.turns:
        handle = state.store.save(state.history, state.audio_seconds, state.spoken_turns, state.started_at)
        last = state.client_messages - 1 if config.transparent else None
        follow.append(Send(replies.resumption_frame(handle, last)))
    if (
        not turn.interrupted
        and script.go_away_after_turns is not None
        and state.turns_completed >= script.go_away_after_turns
        and not state.go_away_scheduled
        and script.applies_to(state.connection_index)
    ):
        follow += _go_away(state)
    return follow + _reach(state, "between_turns")


# --- lifecycle and faults -------------------------------------------------------------------------------


def _go_away(state: SessionState) -> list[Action]:
    """§4 goAway; when its time is up the server closes (1008, GO_AWAY_EXPIRED) unless the client left."""
    state.go_away_scheduled = True
    left = state.script.go_away_time_left_s
    return [Send(replies.go_away_frame(left), step=Step.GO_AWAY), Timer(left, "go_away_expired")]


def _reach(state: SessionState, point: str) -> list[Action]:
    """The session reached a fault point: the scripted faults, on the configured occurrence only."""
    state._points[point] += 1
    script = state.script
    if state._points[point] != script.fault_occurrence or not script.applies_to(state.connection_index):
        return []
    actions: list[Action] = []
    for kind in script.faults_at(point):
        state.faults.append(f"{kind}@{point}")
        logger.info("session %s: scripted %s at %s", state.session_id, kind, point)
        if kind == "stall":
            actions.append(Stall(script.stall_s))
        elif kind == "drop":
            state.phase = Phase.CLOSED
            actions.append(Drop())
        else:
            state.phase = Phase.CLOSED
            actions.append(Close(script.close_code, truncate_reason(script.close_reason)))
    return actions


_HANDLERS: dict[str, Callable[[SessionState, Any], list[Action]]] = {
    "setup": _on_setup,
    "clientContent": _on_client_content,
    "realtimeInput": _on_realtime_input,
    "toolResponse": _on_tool_response,
    "contextUpdate": _on_context_update,
}
