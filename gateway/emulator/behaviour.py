"""One emulated Live session as a pure state machine: a client frame in, the actions to perform out.

Every protocol decision lives here (GEMINI_LIVE.md §2-§5), and what the model sends in `model_turns.py`; the
state it keeps is in `session_state.py`, the actions it returns in `actions.py`; `server.py` only moves frames.
The server runs the returned actions in order on one writer per connection, and calls back:

* `commit(state, action)` just before it sends a frame, so the session knows how far a streamed reply got
  (barge-in truncates the model's turn to what was sent) and can add the frames that follow that moment
  (a turn's resumption handle, goAway, a scripted fault);
* `on_timer(state, name)` when a `Timer` runs out (goAway and its deadline).

`deliver(state, actions)` does what a zero-latency writer would do, for tests without sockets.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from schemas.gemini import (
    Blob,
    ClientContentMessage,
    ClientMessage,
    Content,
    ContextUpdateMessage,
    FunctionCall,
    FunctionResponse,
    GeminiProtocolError,
    Part,
    RealtimeInputMessage,
    ServerMessage,
    SetupComplete,
    SetupMessage,
    ToolResponseMessage,
    decode_frame,
    parse_client_message,
    truncate_reason,
)
from schemas.profiles import Backend

from . import replies
from .actions import Action, Cancel, Close, Drop, Pause, Send, Stall, Step, Timer
from .model_turns import continue_after_tools, end_turn, go_away, interrupt, model_turn, reach
from .script import Script  # Script lived here first: still importable from here
from .session_state import Phase, ResumptionStore, SessionState, config_of
from .setup_rules import INVALID_ARGUMENT, check_setup, check_tools, invalid_argument
from .vad import Vad, VadEvent, VadSettings, pcm_rate

# What callers import from here: the entry points, and the pieces of the machine they drive it with.
__all__ = [
    "API_KEY_INVALID", "DEADLINE_EXPIRED", "GO_AWAY_EXPIRED", "TRANSITIONS", "Action", "Cancel", "Close", "Drop",
    "Pause", "Phase", "ResumptionStore", "Script", "Send", "SessionState", "Stall", "Timer", "commit", "deliver",
    "on_open", "on_timer", "receive",
]  # fmt: skip

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
        return reach(state, "mid_tool_call")
    elif turn is None:
        return []
    elif step is Step.CONTENT:
        turn.words_sent = max(turn.words_sent, (action.word or 0) + 1)
        if action.word == 0:
            return reach(state, "mid_text" if turn.modality == "TEXT" else "mid_audio")
    elif step is Step.TRANSCRIPT and action.word == 0:
        return reach(state, "mid_text")
    elif step is Step.GENERATION_COMPLETE:
        turn.generation_done = True
    elif step is Step.TURN_COMPLETE:
        return end_turn(state, turn)
    return []


def on_timer(state: SessionState, name: str) -> list[Action]:
    """A `Timer` ran out: "go_away" sends the goAway, "go_away_expired" and "deadline" close the connection (§5)."""
    if state.phase is Phase.CLOSED:
        return []
    if name == "go_away":
        return [] if state.go_away_scheduled else go_away(state)
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
    actions = reach(state, "before_setup_complete")
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
    config = config_of(state)
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
    return actions + model_turn(state)


def _check_inline(turn: Content) -> None:
    """Inline data in a turn: images (JPEG/PNG) and PCM audio (§3.3 formats); anything else is refused."""
    for part in turn.parts:
        mime = (part.inline_data.mime_type or "") if part.inline_data is not None else None
        if mime is not None and mime not in _INLINE_IMAGES and not mime.startswith("audio/pcm"):
            raise GeminiProtocolError(reason=invalid_argument(f'unsupported inline data mime type "{mime}".'))


def _on_realtime_input(state: SessionState, message: RealtimeInputMessage) -> list[Action]:
    config = config_of(state)
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
    return actions + model_turn(state)


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
            actions += continue_after_tools(state, turn, pairs)
    return actions


def _pending_by_name(state: SessionState, name: str | None) -> str | None:
    pending = state.pending_calls
    if name is None:
        return next(iter(pending)) if len(pending) == 1 else None
    return next((call_id for call_id, call in pending.items() if call.name == name), None)


def _on_context_update(state: SessionState, message: ContextUpdateMessage) -> list[Action]:
    # §3.5: a new system instruction and/or tools; an absent `tools` keeps the current ones. Only models whose
    # profile says so take it (schemas/profiles.py context_update); the others refuse it like an unknown field.
    if not config_of(state).profile.context_update:
        raise GeminiProtocolError(reason=invalid_argument("contextUpdate is not supported for this model."))
    update = message.context_update
    if update.tools is not None:
        tools = list(update.tools.tools or [])
        check_tools(tools, config_of(state).profile)
        state.tools = tools
    if update.system_instruction is not None:
        state.system_instruction = update.system_instruction
    return []


# --- user turns ---------------------------------------------------------------------------------------


def _new_input(state: SessionState) -> list[Action]:
    """Typed input (clientContent, realtime text): refused during a pending call (§3.4), else interrupts."""
    if config_of(state).profile.transcription_only:  # a transcription model only listens
        raise GeminiProtocolError(reason=invalid_argument("text input is not supported for this model."))
    if state.phase is Phase.TOOL_CALL and state.script.abort_on_input_during_tool_call:
        raise GeminiProtocolError(code=1008, reason=OPERATION_ABORTED)
    return interrupt(state)


def _user_activity(state: SessionState) -> list[Action]:
    """The user started speaking: barge-in unless NO_INTERRUPTION; a pending call is always cancelled."""
    if state.phase is Phase.TOOL_CALL or config_of(state).interrupts:
        return interrupt(state)
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
        return model_turn(state) if typed else []
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
    if words and config_of(state).profile.transcription_only:  # live transcription: a running snapshot
        return [Send(replies.interim_transcript_frame(words[0].strip()))]
    if not (config_of(state).input_transcription and words):
        return []
    return [Send(replies.input_transcript_frame(words[0]))]


def _speech_end(state: SessionState, offset_ms: float) -> list[Action]:
    """The spoken turn ends: the rest of its transcript, then the model answers it like text."""
    transcript, state._speech = state._speech or "", None
    start, _ = state.speech_segments[-1]
    state.speech_segments[-1] = (start, offset_ms)
    if config_of(state).profile.transcription_only:
        return _transcribed(state, transcript, (offset_ms - start) / 1000)
    actions: list[Action] = []
    rest = "".join(replies.word_chunks(transcript)[1:])
    if config_of(state).input_transcription and rest:
        actions.append(Send(replies.input_transcript_frame(rest)))
    if state.phase is Phase.TOOL_CALL:  # only when the Script lets audio through a pending call
        actions += interrupt(state)
    state.history.append(Content(role="user", parts=[Part(text=transcript)]))
    return actions + model_turn(state)


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

_HANDLERS: dict[str, Callable[[SessionState, Any], list[Action]]] = {
    "setup": _on_setup,
    "clientContent": _on_client_content,
    "realtimeInput": _on_realtime_input,
    "toolResponse": _on_tool_response,
    "contextUpdate": _on_context_update,
}
