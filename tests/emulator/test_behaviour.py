"""gateway/emulator/behaviour.py: the session state machine, without sockets (frame in, actions out)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from gateway.emulator.behaviour import (
    API_KEY_INVALID,
    DEADLINE_EXPIRED,
    TRANSITIONS,
    Close,
    Phase,
    ResumptionStore,
    SessionState,
    Timer,
    on_open,
    on_timer,
    receive,
)
from gateway.emulator.script import Script

from .helpers import AUDIO_MODEL, LIVE_31, LIVE_38, TEXT_MODEL, VERTEX_PREFIX
from .pure import DEV, VERTEX, closed_with, feed, sent, started, user

PCM_100MS = base64.b64encode(b"\x00\x00" * 1600).decode()  # 100 ms at 16 kHz


def test_transition_table_covers_every_phase() -> None:
    """TRANSITIONS names every phase; CLOSED accepts nothing."""
    assert set(TRANSITIONS) == set(Phase)
    assert TRANSITIONS[Phase.CLOSED] == {}


def test_setup_complete_per_backend() -> None:
    """`{}` on the Developer API, `{"sessionId"}` on Vertex (§4, §8)."""
    dev = SessionState(DEV)
    assert sent(feed(dev, {"setup": {"model": f"models/{AUDIO_MODEL}"}})) == [{"setupComplete": {}}]
    vertex = SessionState(VERTEX)
    assert sent(feed(vertex, {"setup": {"model": VERTEX_PREFIX + TEXT_MODEL}})) == [
        {"setupComplete": {"sessionId": vertex.session_id}}
    ]
    assert dev.phase is vertex.phase is Phase.LIVE


@pytest.mark.parametrize("kind", ["clientContent", "realtimeInput", "toolResponse", "contextUpdate"])
def test_nothing_before_setup(kind: str) -> None:
    """Any message before setup closes with 1007."""
    state = SessionState(DEV)
    assert closed_with(feed(state, {kind: {}}))[0] == 1007
    assert state.phase is Phase.CLOSED
    assert feed(state, {"setup": {"model": f"models/{AUDIO_MODEL}"}}) == [], (
        "frames after a close are ignored"
    )


def test_second_setup() -> None:
    """A second setup closes with 1007."""
    state = started()
    assert closed_with(feed(state, {"setup": {"model": f"models/{AUDIO_MODEL}"}})) == (
        1007,
        "Request contains an invalid argument: setup may be sent only once.",
    )


def test_bad_api_key_closes_on_open() -> None:
    """An unauthorized Developer connection is closed right after the upgrade."""
    state = SessionState(DEV)
    assert on_open(state, authorized=False) == [Close(1007, API_KEY_INVALID)]
    assert on_open(SessionState(DEV), authorized=True) == []


def test_client_content_turns_and_history() -> None:
    """turnComplete:false appends; turnComplete:true answers the last user turn; usage re-bills context."""
    state = started(systemInstruction={"parts": [{"text": "be nice"}]})
    assert feed(state, user("one two", complete=False)) == []
    first = sent(feed(state, {"clientContent": {"turnComplete": True}}))
    assert first[-1]["usageMetadata"]["promptTokenCount"] == 4  # "be nice" + "one two"
    second = sent(feed(state, user("three")))
    # system 2 + "one two" 2 + reply "You said: one two" 4 + "three" 1
    assert second[-1]["usageMetadata"]["promptTokenCount"] == 9
    assert [turn.role for turn in state.history] == ["user", "model", "user", "model"]
    assert state.history[-1].text() == "You said: three"


def test_turn_complete_without_user_text_greets() -> None:
    """No pending user text: the greeting."""
    state = started(generationConfig={"responseModalities": ["AUDIO"]}, outputAudioTranscription={})
    frames = sent(feed(state, {"clientContent": {"turnComplete": True}}))
    transcript = "".join(f["serverContent"].get("outputTranscription", {}).get("text", "") for f in frames)
    assert transcript == "Hello! How can I help you today?"


def test_invalid_role() -> None:
    """Turns are user or model."""
    state = started()
    message = {"clientContent": {"turns": [{"role": "system", "parts": [{"text": "x"}]}]}}
    assert closed_with(feed(state, message)) == (1007, "Please use a valid role: user, model.")


def test_history_only_model_refuses_client_content() -> None:
    """3.x without historyConfig: any clientContent is 1007 (§3.2)."""
    state = started(LIVE_31)
    assert closed_with(feed(state, user("hi", complete=False)))[0] == 1007


def test_history_only_model_initial_history() -> None:
    """3.x with initialHistoryInClientContent: history until turnComplete (no reply), then realtime only."""
    state = started(LIVE_31, historyConfig={"initialHistoryInClientContent": True})
    assert state.phase is Phase.HISTORY
    assert feed(state, user("remember 7", complete=False)) == []
    model_turn = {
        "clientContent": {"turns": [{"role": "model", "parts": [{"text": "ok"}]}], "turnComplete": True}
    }
    assert feed(state, model_turn) == [], "the end of the initial history triggers no model call"
    assert state.phase is Phase.LIVE
    frames = sent(feed(state, {"realtimeInput": {"text": "go"}}))
    assert frames[-1]["usageMetadata"]["promptTokenCount"] == 4  # "remember 7" + "ok" + "go"
    assert closed_with(feed(state, user("late", complete=False)))[0] == 1007


def test_history_phase_refuses_realtime_input() -> None:
    """Realtime input before the initial history's turnComplete is 1007."""
    state = started(LIVE_31, historyConfig={"initialHistoryInClientContent": True})
    code, reason = closed_with(feed(state, {"realtimeInput": {"text": "too early"}}))
    assert code == 1007 and "turnComplete" in reason


def test_realtime_text_replies_on_every_model() -> None:
    """realtimeInput.text is answered at once."""
    for state in (started(), started(LIVE_31)):
        frames = sent(feed(state, {"realtimeInput": {"text": "yo"}}))
        assert frames[-1]["serverContent"] == {"turnComplete": True}


def test_audio_is_counted_and_billed() -> None:
    """PCM input is stored and billed as AUDIO prompt tokens (25/s); no VAD reply yet."""
    state = started()
    for _ in range(10):
        assert (
            feed(
                state, {"realtime_input": {"audio": {"mime_type": "audio/pcm;rate=16000", "data": PCM_100MS}}}
            )
            == []
        )
    assert state.audio_bytes == 32000 and state.audio_seconds == pytest.approx(1.0)
    frames = sent(feed(state, {"realtimeInput": {"text": "hi"}}))
    details = frames[-1]["usageMetadata"]["promptTokensDetails"]
    assert {"modality": "AUDIO", "tokenCount": 25} in details


@pytest.mark.parametrize(
    "realtime",
    [
        {"audio": {"mimeType": "image/jpeg", "data": ""}},
        {"audio": {"data": PCM_100MS}},
        {"video": {"mimeType": "audio/pcm", "data": ""}},
        {"mediaChunks": [{"mimeType": "text/plain", "data": ""}]},
    ],
)
def test_media_mime_types(realtime: dict[str, Any]) -> None:
    """Audio must be audio/*, video image/* (§3.3)."""
    assert closed_with(feed(started(), {"realtimeInput": realtime}))[0] == 1007


def test_activity_signals_need_manual_vad() -> None:
    """activityStart/End only with automaticActivityDetection.disabled (§3.3)."""
    code, reason = closed_with(feed(started(), {"realtimeInput": {"activityStart": {}}}))
    assert code == 1007 and reason.startswith("Explicit activity control is not supported")
    manual = started(realtimeInputConfig={"automaticActivityDetection": {"disabled": True}})
    assert feed(manual, {"realtimeInput": {"activityStart": {}}}) == []
    assert manual.activity_open
    assert feed(manual, {"realtimeInput": {"activityEnd": {}}}) == []
    assert not manual.activity_open


def test_tool_response_ids() -> None:
    """The Developer API requires functionResponses[].id; Vertex does not (§3.4, §8)."""
    answer = {"toolResponse": {"functionResponses": [{"name": "f", "response": {"output": 1}}]}}
    assert closed_with(feed(started(), answer))[0] == 1007
    assert feed(started(TEXT_MODEL, VERTEX), answer) == []


def test_context_update() -> None:
    """contextUpdate replaces the system instruction and, when present, the tools (§3.5)."""
    state = started(LIVE_38, tools=[{"googleSearch": {}}])
    assert feed(state, {"contextUpdate": {"systemInstruction": {"parts": [{"text": "short"}]}}}) == []
    assert state.system_instruction is not None and state.system_instruction.text() == "short"
    assert len(state.tools) == 1
    assert feed(state, {"context_update": {"tools": {"tools": []}}}) == []
    assert state.tools == []
    assert (
        closed_with(feed(state, {"contextUpdate": {"tools": {"tools": [{"codeExecution": {}}]}}}))[0] == 1007
    )


def test_context_update_refused_where_the_profile_says_no() -> None:
    """A model without `context_update` in its profile closes with 1007 on a contextUpdate."""
    state = started(LIVE_31)
    update = {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}}
    assert closed_with(feed(state, update)) == (
        1007,
        "Request contains an invalid argument: contextUpdate is not supported for this model.",
    )


def test_resumption_restores_history() -> None:
    """A handle from sessionResumptionUpdate restores the conversation; an unknown one is 1008 (§5.1)."""
    store = ResumptionStore()
    first = SessionState(DEV, store=store)
    feed(first, {"setup": {"model": f"models/{AUDIO_MODEL}", "sessionResumption": {}}})
    update = sent(feed(first, user("a b c")))[-1]["sessionResumptionUpdate"]
    assert update["resumable"] is True
    second = SessionState(DEV, store=store)
    feed(
        second,
        {"setup": {"model": f"models/{AUDIO_MODEL}", "sessionResumption": {"handle": update["newHandle"]}}},
    )
    assert [turn.text() for turn in second.history] == ["a b c", "You said: a b c"]
    stale = SessionState(DEV, store=store)
    message = {"setup": {"model": f"models/{AUDIO_MODEL}", "sessionResumption": {"handle": "nope"}}}
    assert closed_with(feed(stale, message)) == (1008, "BidiGenerateContent session not found")


def test_raw_messages_are_recorded() -> None:
    """Every decoded message is kept as sent; the raw setup object too."""
    state = SessionState(DEV)
    receive(state, b'{"setup": {"model": "models/%s", "generation_config": {}}}' % AUDIO_MODEL.encode())
    receive(state, '{"realtime_input": {"text": "x"}}')
    assert state.setup == {"model": f"models/{AUDIO_MODEL}", "generation_config": {}}
    assert [list(m) for m in state.messages] == [["setup"], ["realtime_input"]]


def test_recording_can_be_turned_off() -> None:
    """Without message recording (long CLI runs) the first setup is still kept, even a refused one."""
    state = SessionState(DEV, record_messages=False)
    actions = receive(state, b'{"setup": {"model": "models/nope"}}')
    assert closed_with(actions)[0] == 1008
    assert state.messages == [] and state.setup == {"model": "models/nope"}


def test_session_deadline_closes_and_refuses_a_late_resumption() -> None:
    """Script.session_deadline_s: the connection closes 1011 "Deadline expired…" at the session's age; a
    resumption keeps the original start, and one past the deadline is refused with 1007."""
    now = [100.0]
    store = ResumptionStore(clock=lambda: now[0])
    script = Script(session_deadline_s=60.0)
    first = SessionState(DEV, script=script, store=store)
    actions = receive(first, orjson.dumps({"setup": {"model": f"models/{AUDIO_MODEL}", "sessionResumption": {}}}))
    assert Timer(60.0, "deadline") in actions
    handle = sent(feed(first, user("hi")))[-1]["sessionResumptionUpdate"]["newHandle"]
    assert on_timer(first, "deadline") == [Close(1011, DEADLINE_EXPIRED)]
    now[0] = 130.0
    second = SessionState(DEV, script=script, store=store)
    setup = {"setup": {"model": f"models/{AUDIO_MODEL}", "sessionResumption": {"handle": handle}}}
    assert Timer(30.0, "deadline") in receive(second, orjson.dumps(setup))
    now[0] = 161.0
    assert closed_with(feed(SessionState(DEV, script=script, store=store), setup))[0] == 1007
