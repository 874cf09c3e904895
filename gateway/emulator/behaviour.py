"""One emulated Live session as a pure state machine: a client frame in, the actions to perform out.

Every protocol decision lives here (GEMINI_LIVE.md §2-§4); `server.py` only moves frames.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from schemas.gemini import (
    Blob,
    ClientContentMessage,
    ClientMessage,
    Content,
    ContextUpdateMessage,
    GeminiProtocolError,
    Part,
    RealtimeInputMessage,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    SetupMessage,
    Tool,
    ToolResponseMessage,
    decode_frame,
    parse_client_message,
)
from schemas.profiles import Backend

from . import replies
from .routes import Route
from .setup_rules import INVALID_ARGUMENT, SessionConfig, check_setup, check_tools, invalid_argument

logger = logging.getLogger("livegate.emulator")

API_KEY_INVALID = "API key not valid. Please pass a valid API key."
SESSION_NOT_FOUND = "BidiGenerateContent session not found"


class Phase(Enum):
    """Where the session is in its life (one direction: what the client may send next)."""

    AWAIT_SETUP = "await_setup"  # only `setup` is legal (§3.1)
    HISTORY = "history"  # history-only model seeding its initial history with clientContent (§3.2)
    LIVE = "live"  # the conversation
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
    Phase.CLOSED: {},
}

# Why a move missing from TRANSITIONS is illegal, by (phase, kind); `None` matches any kind.
_ILLEGAL: dict[tuple[Phase, str | None], str] = {
    (Phase.AWAIT_SETUP, None): invalid_argument("the first message must be setup."),
    (Phase.HISTORY, "setup"): invalid_argument("setup may be sent only once."),
    (Phase.LIVE, "setup"): invalid_argument("setup may be sent only once."),
    (Phase.HISTORY, None): invalid_argument(
        "end the initial history with clientContent turnComplete:true first."
    ),
}


@dataclass(frozen=True)
class Send:
    """Send one server message (a camelCase dict) as a binary frame."""

    message: dict[str, Any]


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with this code and (≤123-byte) reason."""

    code: int
    reason: str


Action = Send | Close


@dataclass(frozen=True)
class Script:
    """Knobs of the emulated model, shared by all sessions of a server.

    Later work adds VAD thresholds, tool calls, goAway timing and fault injection here.
    """

    audio_ms_per_word: int = 100  # synthetic speech per reply word
    audio_tokens_per_second: int = 25  # input audio billing rate (§5: about 25-32 tokens/s)


class ResumptionStore:
    """Conversation snapshots by resumption handle, shared by the connections of one server (§3.1, §5)."""

    def __init__(self) -> None:
        self._snapshots: dict[str, tuple[Content, ...]] = {}  # handle → history when it was issued

    def save(self, history: list[Content]) -> str:
        handle = f"emulator-{uuid.uuid4().hex}"
        self._snapshots[handle] = tuple(history)
        return handle

    def load(self, handle: str) -> tuple[Content, ...] | None:
        return self._snapshots.get(handle)


class SessionState:
    """Everything one connection has seen and decided."""

    def __init__(
        self,
        route: Route,
        script: Script | None = None,
        store: ResumptionStore | None = None,
        record_messages: bool = True,
    ) -> None:
        self.route = route  # backend and API version of the handshake path
        self.record_messages = record_messages  # keep every decoded message (tests); off for long CLI runs
        self.script = script or Script()  # the emulated model's knobs
        self.store = store or ResumptionStore()  # resumption snapshots (server-wide)
        self.session_id = uuid.uuid4().hex  # Vertex setupComplete.sessionId (§4)
        self._phase = Phase.AWAIT_SETUP  # changed only through the `phase` setter
        self.config: SessionConfig | None = None  # facts of the accepted setup
        self.setup: dict[str, Any] | None = None  # the raw first `setup` object, accepted or not
        self.messages: list[dict[str, Any]] = []  # every decoded client message, if recorded
        self.history: list[Content] = []  # user and model turns (§3.2), restored on resumption
        self.system_instruction: Content | None = None  # from setup, replaced by contextUpdate
        self.tools: list[Tool] = []  # from setup, replaced by contextUpdate
        self.audio_bytes = 0  # realtime audio received (any format)
        self.audio_seconds = 0.0  # duration of the PCM part of it, billed as AUDIO prompt tokens
        self.video_frames = 0  # realtime video/image frames received
        self.activity_open = False  # between activityStart and activityEnd (manual VAD, §3.3)
        self.turns_completed = 0  # model turns finished with turnComplete

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, value: Phase) -> None:
        if value is not self._phase:
            logger.debug("session %s: %s -> %s", self.session_id, self._phase.name, value.name)
        self._phase = value


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
    try:
        decoded = decode_frame(raw)
        _record(state, decoded)
        return _dispatch(state, parse_client_message(decoded))
    except GeminiProtocolError as exc:
        state.phase = Phase.CLOSED
        logger.info("session %s: closing %d %s", state.session_id, exc.code, exc.reason)
        return [Close(exc.code, exc.reason)]


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


def _on_setup(state: SessionState, message: SetupMessage) -> list[Action]:
    setup = message.setup
    config = check_setup(setup, state.route)
    if config.resume_handle:
        snapshot = state.store.load(config.resume_handle)
        if snapshot is None:  # §5.1: a stale or invalid handle
            raise GeminiProtocolError(code=1008, reason=SESSION_NOT_FOUND)
        state.history = list(snapshot)
    state.config = config
    state.system_instruction = setup.system_instruction
    state.tools = list(setup.tools or [])
    # §3.2 + SDK HistoryConfig: the server first takes clientContent until turnComplete.
    state.phase = Phase.HISTORY if config.initial_history else Phase.LIVE
    # §4 / §8: `{}` on the Developer API, `{"sessionId": …}` on Vertex.
    session_id = state.session_id if state.route.backend is Backend.VERTEX else None
    return [Send(ServerMessage(setup_complete=SetupComplete(session_id=session_id)).to_wire())]


def _on_client_content(state: SessionState, message: ClientContentMessage) -> list[Action]:
    """§3.2. On history-only models (3.x) clientContent is legal only while seeding initial history.

    The rule, precisely: such a model refuses every clientContent (1007) unless the setup set
    `historyConfig.initialHistoryInClientContent`; then clientContent frames are history until one carries
    `turnComplete: true`, which ends the history *without* a model call (SDK `HistoryConfig` doc); after
    that any clientContent is 1007, and realtime input before it is 1007 too (TRANSITIONS). Other models
    append the turns and reply when `turnComplete` is true.
    """
    config = _config(state)
    content = message.client_content
    if config.profile.history_at_start_only and state.phase is not Phase.HISTORY:
        raise GeminiProtocolError(reason=INVALID_ARGUMENT)
    for turn in content.turns or []:
        if turn.role not in (None, "user", "model"):
            raise GeminiProtocolError(reason="Please use a valid role: user, model.")
        state.history.append(turn)
    if not content.turn_complete:
        return []
    if state.phase is Phase.HISTORY:
        state.phase = Phase.LIVE
        return []
    return _respond(state)


def _on_realtime_input(state: SessionState, message: RealtimeInputMessage) -> list[Action]:
    config = _config(state)
    realtime = message.realtime_input
    # §3.3: activityStart/activityEnd only with automaticActivityDetection.disabled.
    if (realtime.activity_start or realtime.activity_end) and not config.manual_activity:
        raise GeminiProtocolError(
            reason="Explicit activity control is not supported when automatic activity detection is enabled."
        )
    if realtime.activity_start:
        state.activity_open = True
    if realtime.audio is not None:
        _take_audio(state, realtime.audio, "realtime_input.audio")
    if realtime.video is not None:
        _take_video(state, realtime.video, "realtime_input.video")
    for chunk in realtime.media_chunks or []:  # deprecated: audio or image blobs (§3.3)
        if (chunk.mime_type or "").startswith("image/"):
            _take_video(state, chunk, "realtime_input.media_chunks")
        else:
            _take_audio(state, chunk, "realtime_input.media_chunks")
    if realtime.activity_end:
        state.activity_open = False  # later: end of a manual-VAD user turn
    if realtime.text is None:
        return []
    state.history.append(Content(role="user", parts=[Part(text=realtime.text)]))
    return _respond(state)


def _take_audio(state: SessionState, blob: Blob, where: str) -> None:
    mime = blob.mime_type or ""
    if not mime.startswith("audio/"):  # §3.3: audio must be audio/*
        raise GeminiProtocolError(reason=invalid_argument(f'unsupported mime type "{mime}" in {where}.'))
    size = len(blob.raw())
    state.audio_bytes += size
    if mime.startswith("audio/pcm"):
        rate = re.search(r"rate=(\d+)", mime)
        state.audio_seconds += size / 2 / (int(rate.group(1)) if rate else 16000)


def _take_video(state: SessionState, blob: Blob, where: str) -> None:
    mime = blob.mime_type or ""
    if not mime.startswith("image/"):  # §3.3: frames are JPEG/PNG images
        raise GeminiProtocolError(reason=invalid_argument(f'unsupported mime type "{mime}" in {where}.'))
    state.video_frames += 1


def _on_tool_response(state: SessionState, message: ToolResponseMessage) -> list[Action]:
    # §3.4 / §8: the Developer API requires the call id; Vertex allows it to be absent.
    for index, response in enumerate(message.tool_response.function_responses or []):
        if state.route.backend is Backend.GEMINI and not response.id:
            raise GeminiProtocolError(reason=invalid_argument(f"function_responses[{index}].id is required."))
    return []


def _on_context_update(state: SessionState, message: ContextUpdateMessage) -> list[Action]:
    # §3.5: a new system instruction and/or tools; an absent `tools` keeps the current ones.
    update = message.context_update
    if update.tools is not None:
        tools = list(update.tools.tools or [])
        check_tools(tools, _config(state).profile)
        state.tools = tools
    if update.system_instruction is not None:
        state.system_instruction = update.system_instruction
    return []


def _pending_user_text(history: list[Content]) -> str:
    """The text of the last turn if it is the user's, else "" (the model already answered)."""
    if history and history[-1].role in (None, "user"):
        return history[-1].text()
    return ""


def _prompt_tokens(state: SessionState) -> dict[str, int]:
    # §7: every turn re-bills the whole context (system instruction, history, audio so far).
    system = state.system_instruction.text() if state.system_instruction else ""
    text = replies.count_tokens(system) + sum(replies.count_tokens(turn.text()) for turn in state.history)
    audio = round(state.audio_seconds * state.script.audio_tokens_per_second)
    return {"TEXT": text, "AUDIO": audio}


def _respond(state: SessionState) -> list[Action]:
    """One model turn answering the pending user text (§4.1), then the resumption handle if asked."""
    config = _config(state)
    reply = replies.reply_text(_pending_user_text(state.history))
    response_tokens = replies.count_tokens(reply)
    usage = replies.usage(state.route.backend, _prompt_tokens(state), response_tokens, config.modality)
    frames = replies.reply_frames(
        reply,
        modality=config.modality,
        transcribe=config.output_transcription,
        usage_metadata=usage,
        audio_ms=state.script.audio_ms_per_word,
    )
    state.history.append(Content(role="model", parts=[Part(text=reply)]))
    state.turns_completed += 1
    actions: list[Action] = [Send(frame) for frame in frames]
    if config.resumable:
        update = SessionResumptionUpdate(new_handle=state.store.save(state.history), resumable=True)
        actions.append(Send(ServerMessage(session_resumption_update=update).to_wire()))
    return actions


_HANDLERS: dict[str, Callable[[SessionState, Any], list[Action]]] = {
    "setup": _on_setup,
    "clientContent": _on_client_content,
    "realtimeInput": _on_realtime_input,
    "toolResponse": _on_tool_response,
    "contextUpdate": _on_context_update,
}
