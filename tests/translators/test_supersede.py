"""A user turn while a function call is pending: the gateway answers the call for the client (superseded),
the new turn is answered, and the client's late output is still taken, as context."""

from __future__ import annotations

import base64
from array import array
from typing import Any

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, setups, types, upstream
from translators.resume import Retry
from translators.supersede import SUPERSEDED

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CALL = {"toolCall": {"functionCalls": [{"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}}]}}


def user(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]},
    }


def output(text: str) -> dict[str, Any]:
    return {
        "type": "conversation.item.create",
        "item": {"type": "function_call_output", "call_id": "fc_1", "output": text},
    }


def pending(model: str = "gemini-2.5-flash-native-audio-preview-12-2025", **extra: Any) -> Playbook:
    """A session whose model called get_weather and waits for its output."""
    play = Playbook(Dialect.GA, model=model)
    play.start()
    play.send({"type": "session.update", "session": {"type": "realtime", "tools": [WEATHER], **extra}})
    play.send(user("weather in Paris?"))
    play.send({"type": "response.create"})
    play.connect()
    play.recv(CALL)
    return play


def superseded_answer(**more: Any) -> dict[str, Any]:
    return {"name": "get_weather", "response": {"error": SUPERSEDED}, "id": "fc_1", **more}


def test_user_turn_answers_the_pending_call_first() -> None:
    """2.x: a user turn during a pending call → toolResponse (superseded), then the turn; a response starts."""
    play = pending()
    play.send(user("Never mind, tell me a joke."))
    out = play.send({"type": "response.create", "event_id": "rc"})
    assert types(out) == ["response.created"]
    assert upstream(out) == [
        {"toolResponse": {"functionResponses": [superseded_answer()]}},
        {
            "clientContent": {
                "turns": [{"role": "user", "parts": [{"text": "Never mind, tell me a joke."}]}],
                "turnComplete": True,
            }
        },
    ]


def test_the_old_turns_continuation_is_dropped() -> None:
    """Gemini's continuation of the superseded turn (cut by the new turn) never reaches the client."""
    play = pending()
    play.send(user("joke?"))
    play.send({"type": "response.create"})
    old = play.recv({"serverContent": {"outputTranscription": {"text": "get_weather returned"}}})
    old += play.recv({"serverContent": {"interrupted": True}})
    old += play.recv({"serverContent": {"turnComplete": True}})
    assert [t for t in types(old) if t.startswith("response.")] == []
    new = play.recv({"serverContent": {"outputTranscription": {"text": "A joke."}}})
    new += play.recv({"serverContent": {"turnComplete": True}})
    done = events(new)[-1]
    assert done["type"] == "response.done" and done["response"]["output"][0]["content"][0]["transcript"] == "A joke."


def test_a_late_output_is_taken_as_context() -> None:
    """The client's output after the new turn is stored, not sent as toolResponse; it goes in words next turn."""
    play = pending()
    play.send(user("joke?"))
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"serverContent": {"turnComplete": True}})
    out = play.send(output("sunny"))
    assert types(out) == ["conversation.item.added", "conversation.item.done"] and upstream(out) == []
    (sent,) = upstream(play.send({"type": "response.create"}))
    assert sent == {
        "clientContent": {
            "turns": [{"role": "user", "parts": [{"text": "[get_weather returned] sunny"}]}],
            "turnComplete": True,
        }
    }
    (error,) = events(play.send(output("again")))
    assert "already has an output" in error["error"]["message"]


def test_realtime_text_models_get_realtime_text_after_the_answer() -> None:
    """3.1: toolResponse (superseded), then the user's words as realtimeInput.text."""
    play = pending("gemini-3.1-flash-live-preview")
    play.send(user("joke?"))
    assert upstream(play.send({"type": "response.create"})) == [
        {"toolResponse": {"functionResponses": [superseded_answer()]}},
        {"realtimeInput": {"text": "joke?"}},
    ]


def test_non_blocking_calls_are_answered_silently() -> None:
    """NON_BLOCKING functions (3.8 extended thinking): SILENT scheduling, no continuation to drop."""
    play = pending("gemini-3.8-live-extended-thinking")
    play.send(user("joke?"))
    sent = upstream(play.send({"type": "response.create"}))
    assert sent[0] == {"toolResponse": {"functionResponses": [superseded_answer(scheduling="SILENT")]}}
    assert play.state.drain_turns == 0


def test_held_audio_goes_after_the_answer_and_before_the_turn() -> None:
    """Manual turns: mic audio held during the call goes after the superseded answer, then activityEnd."""
    play = pending(audio={"input": {"turn_detection": None}})
    play.send({"type": "input_audio_buffer.append", "audio": "AAAA"})
    play.send({"type": "input_audio_buffer.commit"})
    sent = upstream(play.send({"type": "response.create"}))
    kinds = [next(iter(m)) if "realtimeInput" not in m else next(iter(m["realtimeInput"])) for m in sent]
    assert kinds == ["toolResponse", "audio", "activityEnd"]


def test_a_missing_input_error_leaves_the_call_pending() -> None:
    """3.1 with no new user text: the error comes first and the call is not answered behind the client's back."""
    play = pending("gemini-3.1-flash-live-preview")
    out = play.send({"type": "response.create", "event_id": "rc"})
    (error,) = events(out)
    assert error["error"]["code"] == "missing_input" and upstream(out) == []
    assert play.state.calls_pending


def test_a_replay_keeps_the_superseded_call_and_the_late_output() -> None:
    """Reconnect without a handle: the call, its superseded answer, the turns and the late output in words."""
    play = pending()
    play.send(user("joke?"))
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"serverContent": {"outputTranscription": {"text": "Ha."}}})
    play.recv({"serverContent": {"turnComplete": True}})
    play.send(output("sunny"))
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"turnComplete": True}})
    out = play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.REPLAY)
    assert setups(out)
    play.connect()
    (history,) = [m for m in upstream(play.log) if "clientContent" in m and not m["clientContent"]["turnComplete"]]
    parts = [turn["parts"][0] for turn in history["clientContent"]["turns"]]
    assert [next(iter(p)) for p in parts] == ["text", "functionCall", "functionResponse", "text", "text", "text"]
    assert parts[2]["functionResponse"]["response"] == {"error": SUPERSEDED}
    assert parts[5] == {"text": "[get_weather returned] sunny"}


def frame(amplitude: float, ms: int = 20) -> dict[str, Any]:
    """One pcm16 24 kHz mic frame: a square wave of this amplitude (0: digital silence)."""
    level = int(amplitude * 32767)
    samples = [level if (i // 24) % 2 else -level for i in range(24 * ms)]
    data = base64.b64encode(array("h", samples).tobytes()).decode()
    return {"type": "input_audio_buffer.append", "audio": data}


def test_speech_over_a_pending_call_supersedes_it() -> None:
    """Server VAD: silence during a pending call is held; 200 ms of speech answers the call (superseded), then
    all the held audio goes to Gemini in order, whose VAD makes it the new turn."""
    play = pending()
    for _ in range(10):
        assert upstream(play.send(frame(0.0))) == []
    for _ in range(9):
        assert upstream(play.send(frame(0.3))) == []
    sent = upstream(play.send(frame(0.3)))
    assert sent[0] == {"toolResponse": {"functionResponses": [superseded_answer()]}}
    assert len(sent) == 21 and all("audio" in message["realtimeInput"] for message in sent[1:])
    assert upstream(play.send(frame(0.3)))[0]["realtimeInput"]["audio"]["data"] == frame(0.3)["audio"]
    late = play.send(output("sunny"))  # the client's late output: an item, context for the next turn
    assert types(late) == ["conversation.item.added", "conversation.item.done"] and upstream(late) == []


def test_clicks_and_pauses_do_not_supersede() -> None:
    """Short voiced bursts separated by pauses are not speech: held until the output arrives."""
    play = pending()
    for _ in range(5):
        for _ in range(5):
            assert upstream(play.send(frame(0.3))) == []
        for _ in range(16):
            assert upstream(play.send(frame(0.0))) == []
    play.send(output("sunny"))
    sent = upstream(play.send({"type": "response.create"}))
    assert sent[0]["toolResponse"]["functionResponses"][0]["response"] == {"output": "sunny"}


def test_manual_turns_hold_speech_until_the_clients_turn() -> None:
    """turn_detection null: no VAD to answer speech; it is held, and the client's response.create decides."""
    play = pending(audio={"input": {"turn_detection": None}})
    sent = [message for _ in range(20) for message in upstream(play.send(frame(0.3)))]
    assert not [message for message in sent if "toolResponse" in message or "audio" in message.get("realtimeInput", {})]
