"""What the emulated model sends: its replies (paced words, transcripts, usage), function calls, barge-in cuts,
each turn's end (resumption handle, goAway), and the scripted faults (§3.1, §4, §5, §7)."""

from __future__ import annotations

import logging

from schemas.gemini import Content, FunctionCall, FunctionDeclaration, FunctionResponse, Part, truncate_reason

from . import replies
from .actions import Action, Cancel, Close, Drop, Pause, Send, Stall, Step, Timer
from .session_state import ModelTurn, Phase, SessionState, config_of
from .tools import call_args, match_declaration, reply_after_tool

logger = logging.getLogger("livegate.emulator")


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
    limits = config_of(state).compression
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


def model_turn(state: SessionState) -> list[Action]:
    """The model answers the pending user text: a function call if it names a declared function, else words."""
    config = config_of(state)
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
    config, script = config_of(state), state.script
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


def continue_after_tools(
    state: SessionState, turn: ModelTurn, answered: list[tuple[FunctionCall, FunctionResponse]]
) -> list[Action]:
    """The calls and their responses enter history; the model then says what the functions returned."""
    for call, response in answered:
        state.history.append(Content(role="model", parts=[Part(function_call=call)]))
        result = FunctionResponse(id=call.id, name=call.name, response=response.response)
        state.history.append(Content(role="user", parts=[Part(function_response=result)]))
    text = " ".join(reply_after_tool(call.name, response.response) for call, response in answered)
    return _reply(state, turn, text)


def interrupt(state: SessionState) -> list[Action]:
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


def end_turn(state: SessionState, turn: ModelTurn) -> list[Action]:
    """turnComplete is out: the resumable handle when idle, a goAway after N turns, a between-turns fault."""
    del state.turns[turn.id]
    if turn.interrupted:
        state.turns_interrupted += 1
    else:
        state.turns_completed += 1
    config, script = config_of(state), state.script
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
        follow += go_away(state)
    return follow + reach(state, "between_turns")


def go_away(state: SessionState) -> list[Action]:
    """§4 goAway; when its time is up the server closes (1008, GO_AWAY_EXPIRED) unless the client left."""
    state.go_away_scheduled = True
    left = state.script.go_away_time_left_s
    return [Send(replies.go_away_frame(left), step=Step.GO_AWAY), Timer(left, "go_away_expired")]


def reach(state: SessionState, point: str) -> list[Action]:
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
