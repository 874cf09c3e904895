"""Resumption: goAway at the turn boundary, drops resumed with backoff, refusals reported once."""

from __future__ import annotations

from schemas.openai import Dialect
from tests.translators.harness import Playbook, closes, events, setups, types, upstream
from translators.commands import ConnectUpstream, PrepareUpstream
from translators.resume import BACKOFF_S, MAX_RESUME_ATTEMPTS, Retry

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}


def talking() -> Playbook:
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    return play


def finished() -> Playbook:
    play = talking()
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    return play


def lose(play: Playbook, retry: Retry = Retry.RESUME) -> list:
    return play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, retry)


def test_go_away_when_idle_reconnects_at_once_with_the_handle() -> None:
    """goAway between turns: a resumed setup goes out immediately; nothing reaches the client."""
    play = finished()
    out = play.recv({"goAway": {"timeLeft": "10s"}})
    (setup,) = setups(out)
    assert setup["setup"]["sessionResumption"] == {"handle": "h1"} and events(out) == []


def test_go_away_mid_response_waits_for_turn_complete() -> None:
    """goAway during a response: the response completes normally, then the switch happens."""
    play = talking()
    assert play.recv({"goAway": {"timeLeft": "10s"}}) == [PrepareUpstream()]  # a spare socket, no switch yet
    out = play.recv({"serverContent": {"turnComplete": True}})
    assert types(out)[-1] == "response.done" and setups(out) == []
    assert events(out)[-1]["response"]["status"] == "completed"
    (setup,) = setups(play.recv({"sessionResumptionUpdate": {"newHandle": "h9", "resumable": True}}))
    assert setup["setup"]["sessionResumption"] == {"handle": "h9"}  # the handle that covers the turn


def test_audio_during_the_switch_is_queued_and_delivered_once() -> None:
    """Client audio sent while the new upstream connects goes out after its setupComplete, in order."""
    play = finished()
    play.recv({"goAway": {"timeLeft": "10s"}})
    assert upstream(play.send({"type": "input_audio_buffer.append", "audio": "AAAA"})) == []
    assert [m["realtimeInput"]["audio"]["data"] for m in upstream(play.connect())] == ["AAAA"]


def test_drop_mid_response_fails_it_and_resumes() -> None:
    """A drop cuts the response (closed out as failed, not lost) and a resumed upstream follows."""
    play = talking()
    play.recv({"sessionResumptionUpdate": {"newHandle": "h0", "resumable": True}})
    out = lose(play)
    assert types(out) == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "conversation.item.done",
        "response.output_item.done",
        "response.done",
    ]
    assert events(out)[-1]["response"]["status"] == "failed" and not closes(out)
    (connect,) = [c for c in out if isinstance(c, ConnectUpstream)]
    assert connect.setup["setup"]["sessionResumption"] == {"handle": "h0"} and connect.delay_s == BACKOFF_S[0]


def test_resumption_attempts_are_bounded_with_backoff() -> None:
    """Repeated losses without a setupComplete back off, then end with one error and a close."""
    play = finished()
    delays = []
    for _ in range(MAX_RESUME_ATTEMPTS):
        (connect,) = [c for c in lose(play) if isinstance(c, ConnectUpstream)]
        delays.append(connect.delay_s)
    assert delays == sorted(delays) and delays[0] > 0  # caps grow; even the first is spread by the gateway
    out = lose(play)
    assert types(out) == ["error"] and closes(out)[0].code == 1011


def test_refused_handle_replays_history() -> None:
    """A handle Gemini no longer knows: reconnect without it and replay the heard conversation."""
    play = finished()
    out = lose(play, Retry.REPLAY)
    (setup,) = setups(out)
    assert "handle" not in setup["setup"]["sessionResumption"]
    (history,) = upstream(play.connect())
    assert [t["parts"][0]["text"] for t in history["clientContent"]["turns"]] == ["hello", "Hi"]


def test_refusals_are_not_retried() -> None:
    """Retry.NO (1007/1008/quota) goes straight to the client as one error and a close."""
    play = finished()
    out = lose(play, Retry.NO)
    assert types(out) == ["error"] and closes(out)[0].code == 1011


def test_a_call_pending_at_a_drop_stays_answerable_as_history() -> None:
    """2.x: the new upstream hears the turn so far (text and call) as history; the client's output then
    goes as a functionResponse turn, so the tool runs once and the answer still comes."""
    play = finished()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.recv({"toolCall": {"functionCalls": [{"id": "fc_1", "name": "f", "args": {"x": 1}}]}})
    lose(play)
    (history,) = upstream(play.connect())
    turns = history["clientContent"]["turns"]
    assert history["clientContent"]["turnComplete"] is False
    assert turns[-1] == {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}, "id": "fc_1"}}]}
    output = {"type": "function_call_output", "call_id": "fc_1", "output": '{"ok": true}'}
    assert types(play.send({"type": "conversation.item.create", "item": output})) == [
        "conversation.item.added",
        "conversation.item.done",
    ]
    (answer,) = upstream(play.send({"type": "response.create"}))
    response = {"functionResponse": {"name": "f", "response": {"ok": True}, "id": "fc_1"}}
    assert answer == {"clientContent": {"turns": [{"role": "user", "parts": [response]}], "turnComplete": True}}


def test_pending_calls_are_cancelled_by_a_drop_on_3x_models() -> None:
    """3.x models take no history mid-session: the call is cancelled and its output refused."""
    play = Playbook(Dialect.GA, model="gemini-3.1-flash-live-preview")
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"toolCall": {"functionCalls": [{"id": "fc_1", "name": "f", "args": {}}]}})
    lose(play)
    output = {"type": "function_call_output", "call_id": "fc_1", "output": "{}"}
    (error,) = events(play.send({"type": "conversation.item.create", "item": output}))
    assert "cancelled" in error["error"]["message"]


def test_audio_sessions_request_compression() -> None:
    """Audio sessions ask for sliding-window compression; text-capable TEXT sessions do not."""
    play = Playbook(Dialect.GA)
    play.start()
    (setup,) = setups(play.send({"type": "conversation.item.create", "item": USER}))
    assert setup["setup"]["contextWindowCompression"] == {"slidingWindow": {}}


def test_a_turn_cut_by_a_drop_is_asked_again_on_the_resumed_upstream() -> None:
    """The handle predates the cut turn, so its text is sent again once the resumed upstream is ready."""
    play = finished()
    play.send({"type": "conversation.item.create", "item": {**USER, "id": "second"}})
    play.send({"type": "response.create"})
    play.recv({"serverContent": {"outputTranscription": {"text": "Par"}}})
    assert events(lose(play))[-1]["response"]["status"] == "failed"
    (again,) = upstream(play.connect())
    assert again == {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": True}}
    out = play.recv({"serverContent": {"outputTranscription": {"text": "Hi again"}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    assert types(out)[0] == "response.created" and events(out)[-1]["response"]["status"] == "completed"
