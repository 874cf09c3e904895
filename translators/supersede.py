"""A user turn while function calls are pending: answered the OpenAI way (issue #13).

OpenAI answers a new user turn even when a function call has no output yet, and still takes the call's
output later as a conversation item. Gemini cannot hear anything before the `toolResponse` of a BLOCKING
call (it aborts, GEMINI_LIVE.md §3.4). So the gateway answers the pending calls itself, with an explicit
"superseded" result, before the new turn: Gemini's continuation of the old turn is dropped (it is
interrupted by the new turn), NON_BLOCKING calls are answered `SILENT` (no continuation at all). The
client's late `function_call_output` is stored as usual and reaches Gemini as context in words
("[get_weather returned] …") with the next turn; a replayed conversation keeps both. With server VAD, the
user speaking again over a pending call (`speech_over_calls`) is such a turn too.
"""

from __future__ import annotations

import json
from typing import Any

from schemas.profiles import ToolBehavior
from translators.audio import pcm16_rms
from translators.history import realtime_text
from translators.items import answer
from translators.state import SessionState
from translators.tools import CallStatus

SUPERSEDED = "No result yet: the user spoke again before this function returned. Answer the new turn."
# Speech over a pending call (server VAD): OpenAI's VAD keeps listening while a call awaits its output and
# answers what the user says; Gemini must hear nothing before the toolResponse. So held mic audio is checked
# for speech (the level and length of the WebRTC barge-in, and of the emulator's VAD at HIGH sensitivity):
# this much voiced audio, with pauses shorter than QUIET_RESET_MS, is the user speaking again.
SPEECH_LEVEL = 0.02  # RMS, full scale 1.0 (about -34 dBFS)
SPEECH_MS = 200.0
QUIET_RESET_MS = 300.0


def supersede_pending(state: SessionState) -> dict[str, Any] | None:
    """The message answering every pending call as superseded (None: nothing pending); marks the calls."""
    if not state.pending_calls:  # asked at every turn: the session's calls are walked only when some wait
        return None
    answers = []
    for call in state.calls.values():
        if call.status is not CallStatus.PENDING:
            continue
        state.settle(call, CallStatus.SUPERSEDED)
        call.superseded = True
        reply: dict[str, Any] = {"name": call.name, "response": {"error": SUPERSEDED}}
        if call.gemini_id is not None:
            reply["id"] = call.gemini_id
        if state.profile.tool_behavior is ToolBehavior.NON_BLOCKING:
            reply["scheduling"] = "SILENT"  # context only: the model starts no turn for it
        answers.append(reply)
    if not answers:
        return None
    if state.calls_via_history:  # this connection knows the calls as history turns (translators/upstream.py)
        turns = [{"role": "user", "parts": [{"functionResponse": reply}]} for reply in answers]
        return {"clientContent": {"turns": turns, "turnComplete": False}}
    if state.profile.tool_behavior is not ToolBehavior.NON_BLOCKING:
        state.drain_turns += 1  # Gemini continues the old turn after the answer; the new turn interrupts it
    return {"toolResponse": {"functionResponses": answers}}


def speech_over_calls(state: SessionState, message: dict[str, Any], ms: float) -> bool:
    """A held mic frame (`realtimeInput.audio`, pcm16 by now): True once the held audio holds the user speaking
    again, which then supersedes the pending calls as a typed turn does (translators/client.py)."""
    if pcm16_rms(message["realtimeInput"]["audio"]["data"]) >= SPEECH_LEVEL:
        state.held_voiced_ms += ms
        state.held_quiet_ms = 0.0
    else:
        state.held_quiet_ms += ms
        if state.held_quiet_ms >= QUIET_RESET_MS:
            state.held_voiced_ms = 0.0
    return state.held_voiced_ms >= SPEECH_MS


def answerable_in_words(state: SessionState) -> None:
    """A connection lost during a tool turn that cannot be asked again (spoken, or already answered), on a model
    that takes no history mid-session (3.x): the new connection never heard the calls, so they are kept the
    superseded way. Outputs the client gave already become the words that ask again for the continuation it
    is waiting for; later ones travel in words with its next response.create."""
    for call_id, call in state.calls.items():
        if call.status is CallStatus.PENDING:
            state.settle(call, CallStatus.SUPERSEDED)
            call.superseded = True
        elif call.status is CallStatus.ANSWERED and call_id in state.turn_calls:
            call.superseded = True  # its output: words from now on
    state.tool_outputs = []
    given = [
        item
        for item in state.conversation.items()
        if item.get("type") == "function_call_output" and item.get("call_id") in state.turn_calls
    ]
    if not given:
        return
    if state.response is not None:  # response.create came: ask for the continuation again, in words
        state.turn_trigger = {"realtimeInput": {"text": realtime_text(as_heard(given, state))}}
        state.turn_items = [item["id"] for item in given]
    else:
        state.unsent_items += [item["id"] for item in given if item["id"] not in state.unsent_items]


def answers_lost_calls(message: dict[str, Any], state: SessionState) -> bool:
    """A message queued for a lost connection that answers its calls: a toolResponse (the next connection has
    no call pending: Gemini would close 1007), or functionResponse history turns the carried turn repeats."""
    if "toolResponse" in message:
        return True
    turns = (message.get("clientContent") or {}).get("turns") or []
    parts = [part for turn in turns for part in turn.get("parts", ())]
    ids = {(part.get("functionResponse") or {}).get("id") for part in parts}
    return bool(parts) and all("functionResponse" in part for part in parts) and ids <= set(state.turn_calls)


def as_heard(items: list[dict[str, Any]], state: SessionState) -> list[dict[str, Any]]:
    """Items as Gemini must hear them: a superseded call is followed at once by its superseded answer, and
    the client's late output for it becomes a labelled user message."""
    out: list[dict[str, Any]] = []
    for item in items:
        call = state.calls.get(str(item.get("call_id")))
        if call is None or not call.superseded:
            out.append(item)
        elif item.get("type") == "function_call":
            output = json.dumps({"error": SUPERSEDED})
            out += [item, {"type": "function_call_output", "call_id": item["call_id"], "output": output}]
        elif item.get("type") == "function_call_output":
            text = f"[{call.name} returned] {item.get('output', '')}"
            content = [{"type": "input_text", "text": text}]
            out.append({"id": item["id"], "type": "message", "role": "user", "content": content})
        else:
            out.append(item)
    return out


def take_output(state: SessionState, item: dict[str, Any]) -> None:
    """A checked function_call_output item: Gemini's answer to wait for, or, for a superseded call, context
    for the next turn."""
    call = state.calls[item["call_id"]]
    if call.superseded:
        state.settle(call, CallStatus.ANSWERED)
        state.unsent_items.append(item["id"])
    else:
        state.tool_outputs.append(answer(state, item))
