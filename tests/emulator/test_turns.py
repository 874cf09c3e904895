"""behaviour.py without sockets: spoken turns, barge-in, manual activity, tools, compression, resumption, faults."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.emulator import replies
from gateway.emulator.behaviour import (
    GO_AWAY_EXPIRED,
    Cancel,
    Close,
    Drop,
    Pause,
    Phase,
    ResumptionStore,
    Send,
    SessionState,
    Stall,
    Timer,
    commit,
    deliver,
    on_timer,
)
from gateway.emulator.script import Script

from .helpers import (
    LIVE_31,
    LIVE_38,
    TEXT_MODEL,
    audio_message,
    input_transcript_of,
    server_content,
    silence_pcm,
    tone_pcm,
)
from .pure import VERTEX, closed_with, feed, feed_audio, feed_raw, sent, started, user

SPEECH = tone_pcm(16000, 300) + silence_pcm(16000, 600)  # one utterance, then enough silence to end it
MANUAL: dict[str, Any] = {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}}
WEATHER: dict[str, Any] = {
    "functionDeclarations": [
        {
            "name": "get_weather",
            "parametersJsonSchema": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "days": {"type": "integer"},
                    "metric": {"type": ["boolean", "null"]},
                    "extra": {"type": "object"},
                    "note": {"type": "string"},
                },
                "required": ["city", "days", "metric", "extra"],
            },
        },
        {"name": "ping"},
        {
            "name": "lookup",
            "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}, "required": ["q"]},
        },
    ]
}


def transcript(frames: list[dict[str, Any]]) -> str:
    return "".join(t.get("text", "") for t in server_content(frames, "outputTranscription"))


def text_out(frames: list[dict[str, Any]]) -> str:
    return "".join(p.get("text", "") for turn in server_content(frames, "modelTurn") for p in turn["parts"])


# --- spoken turns ------------------------------------------------------------------------------------------


def test_speech_turn_is_answered_with_a_placeholder_transcript() -> None:
    """VAD end of speech: the user turn is "user speech N" and the model answers it like text."""
    state = started(outputAudioTranscription={})
    frames = feed_audio(state, SPEECH)
    assert transcript(frames) == "You said: user speech 1"
    assert server_content(frames, "inputTranscription") == [], "input transcription was not requested"
    assert [turn.text() for turn in state.history] == ["user speech 1", "You said: user speech 1"]
    assert state.speech_segments == [(0.0, 300.0)]
    frames = feed_audio(state, SPEECH)
    assert transcript(frames) == "You said: user speech 2"
    usage = frames[-1]["usageMetadata"]
    # the end is detected 800 ms into the second utterance: 1.7 s of audio so far x 25/s = 42.5 (→ 43)
    assert {"modality": "AUDIO", "tokenCount": 43} in usage["promptTokensDetails"]


def test_input_transcription_fragments() -> None:
    """With inputAudioTranscription: "user " at speech start, "speech 1" at its end, before the reply."""
    state = started(inputAudioTranscription={}, outputAudioTranscription={})
    start = feed_audio(state, tone_pcm(16000, 100))
    assert start == [{"serverContent": {"inputTranscription": {"text": "user "}}}]
    frames = feed_audio(state, tone_pcm(16000, 200) + silence_pcm(16000, 600))
    assert frames[0] == {"serverContent": {"inputTranscription": {"text": "speech 1"}}}
    assert "modelTurn" in frames[1]["serverContent"]
    assert transcript(frames) == "You said: user speech 1"


def test_scripted_user_transcripts() -> None:
    """Script.user_transcripts replaces the placeholder of the Nth spoken turn."""
    state = started(script=Script(user_transcripts=("hello there",)), inputAudioTranscription={})
    frames = feed_audio(state, SPEECH)
    assert input_transcript_of(frames) == "hello there"
    assert state.history[-1].text() == "You said: hello there"
    assert input_transcript_of(feed_audio(state, SPEECH)) == "user speech 2"


def test_audio_stream_end_ends_speech_at_once() -> None:
    """audioStreamEnd (automatic VAD): speech in progress ends without waiting for silence."""
    state = started(outputAudioTranscription={})
    assert feed_audio(state, tone_pcm(16000, 200)) == []
    frames = sent(feed(state, {"realtimeInput": {"audioStreamEnd": True}}))
    assert transcript(frames) == "You said: user speech 1"
    assert sent(feed(state, {"realtimeInput": {"audioStreamEnd": True}})) == [], "no speech: nothing"


def test_rates_24k_and_8k() -> None:
    """The MIME type's rate is honoured."""
    for rate in (24000, 8000):
        state = started(outputAudioTranscription={})
        frames = feed_audio(state, tone_pcm(rate, 300) + silence_pcm(rate, 600), rate)
        assert transcript(frames) == "You said: user speech 1", rate


# --- barge-in --------------------------------------------------------------------------------------------


def partly_sent(state: SessionState, actions: list[Any], frames: int) -> list[dict[str, Any]]:
    """Commit the first `frames` Send actions only: a reply caught mid-stream."""
    out: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action, Send):
            if len(out) == frames:
                break
            commit(state, action)
            out.append(action.message)
    return out


def test_barge_in_stops_the_reply() -> None:
    """Speech while a reply streams: Cancel, interrupted, turnComplete (no generationComplete); the model's
    history entry keeps only the words sent; the new speech is then answered normally."""
    state = started(script=Script(reply_chunk_interval_s=0.1), outputAudioTranscription={})
    actions = feed_raw(state, user("one two three four"))
    assert any(isinstance(a, Pause) for a in actions), "paced reply"
    partly_sent(state, actions, 5)  # audio, transcript, audio, transcript, audio: "You said: one "
    assert feed_raw(state, audio_message(silence_pcm(16000, 100))) == [], "silence is not a barge-in"
    speech = feed_raw(state, audio_message(tone_pcm(16000, 100)))
    assert isinstance(speech[0], Cancel)
    assert sent(speech) == [{"serverContent": {"interrupted": True}}, {"serverContent": {"turnComplete": True}}]
    deliver(state, speech)
    assert state.history[-1].text() == "You said: one"
    assert (state.turns_completed, state.turns_interrupted) == (0, 1)
    frames = feed_audio(state, tone_pcm(16000, 100) + silence_pcm(16000, 600))
    assert transcript(frames) == "You said: user speech 1"
    assert server_content(frames, "generationComplete") == [True]


def test_no_barge_in_once_generation_is_complete() -> None:
    """After generationComplete there is nothing to interrupt: the turn finishes normally."""
    state = started(script=Script(reply_chunk_interval_s=0.1))
    actions = feed_raw(state, user("hi"))
    partly_sent(state, actions, 4)  # three audio chunks + generationComplete
    assert sent(feed_raw(state, audio_message(tone_pcm(16000, 100)))) == []


def test_no_interruption_queues_the_next_reply() -> None:
    """activityHandling NO_INTERRUPTION: speech does not stop the reply; its answer follows it."""
    state = started(
        script=Script(reply_chunk_interval_s=0.1),
        realtimeInputConfig={"activityHandling": "NO_INTERRUPTION"},
        outputAudioTranscription={},
    )
    actions = feed_raw(state, user("one two"))
    partly_sent(state, actions, 1)
    more = feed_raw(state, audio_message(tone_pcm(16000, 100) + silence_pcm(16000, 600)))
    assert not any(isinstance(a, Cancel) for a in more)
    frames = sent(deliver(state, actions[1:] + more))
    assert server_content(frames, "interrupted") == []
    assert transcript(frames) == "You said: one two" + "You said: user speech 1"


def test_text_interrupts_a_streaming_reply() -> None:
    """New typed input stops the reply in flight (§3.2 clientContent interrupts generation)."""
    state = started(script=Script(reply_chunk_interval_s=0.1))
    partly_sent(state, feed_raw(state, user("a b c")), 1)
    frames = sent(feed(state, {"realtimeInput": {"text": "next"}}))
    assert frames[:2] == [{"serverContent": {"interrupted": True}}, {"serverContent": {"turnComplete": True}}]
    assert [t.text() for t in state.history] == ["a b c", "You", "next", "You said: next"]


# --- manual activity -------------------------------------------------------------------------------------


def test_manual_activity_turn() -> None:
    """activityStart … audio … activityEnd: a spoken turn with its transcription; no VAD at all."""
    state = started(inputAudioTranscription={}, outputAudioTranscription={}, **MANUAL)
    assert state.vad is None
    assert feed_audio(state, tone_pcm(16000, 100)) == [], "audio outside an activity makes no turn"
    assert sent(feed(state, {"realtimeInput": {"activityStart": {}}})) == []
    frames = feed_audio(state, silence_pcm(16000, 1000))  # silence too: the client decides the turn
    assert input_transcript_of(frames) == "user "
    frames = sent(feed(state, {"realtimeInput": {"activityEnd": {}}}))
    assert input_transcript_of(frames) == "speech 1"
    assert transcript(frames) == "You said: user speech 1"
    assert sent(feed(state, {"realtimeInput": {"activityStart": {}}})) == []
    assert sent(feed(state, {"realtimeInput": {"activityEnd": {}}})) == [], "no audio: no turn"


def test_manual_activity_start_interrupts() -> None:
    """activityStart during a reply interrupts it; audioStreamEnd is ignored in manual mode."""
    state = started(script=Script(reply_chunk_interval_s=0.1), **MANUAL)
    partly_sent(state, feed_raw(state, user("a b c")), 2)
    frames = sent(feed(state, {"realtimeInput": {"activityStart": {}}}))
    assert frames == [{"serverContent": {"interrupted": True}}, {"serverContent": {"turnComplete": True}}]
    assert sent(feed(state, {"realtimeInput": {"audioStreamEnd": True}})) == []


# --- tools -----------------------------------------------------------------------------------------------


def tool_state(**script: Any) -> SessionState:
    return started(script=Script(**script), tools=[WEATHER], outputAudioTranscription={})


def test_tool_call_args_and_continuation() -> None:
    """A declared name in the user text: toolCall with deterministic args; the response continues the turn."""
    state = tool_state()
    frames = sent(feed(state, {"realtimeInput": {"text": "What does GET_WEATHER say?"}}))
    assert frames == [
        {
            "toolCall": {
                "functionCalls": [
                    {
                        "id": "fc_1",
                        "name": "get_weather",
                        "args": {"city": "What does GET_WEATHER say?", "days": 1, "metric": True},
                    }
                ]
            }
        }
    ]
    assert state.phase is Phase.TOOL_CALL
    answer = {"id": "fc_1", "name": "get_weather", "response": {"temp": 20, "sky": "clear sky"}}
    frames = sent(feed(state, {"toolResponse": {"functionResponses": [answer]}}))
    assert transcript(frames) == 'get_weather returned {"sky":"clear sky","temp":20}'
    assert server_content(frames, "generationComplete") == [True]
    assert "usageMetadata" in frames[-1] and state.phase is Phase.LIVE
    assert [turn.role for turn in state.history] == ["user", "model", "user", "model"]


def test_a_result_reported_in_words_triggers_no_call() -> None:
    """`[get_weather returned] …` is a result in words (livegate's late outputs): answered, never a call."""
    state = tool_state()
    frames = sent(feed(state, {"realtimeInput": {"text": "[get_weather returned] sunny"}}))
    assert "toolCall" not in frames[0] and transcript(frames) == "You said: [get_weather returned] sunny"


def test_tool_call_trigger_rules() -> None:
    """Whole words only; `parameters` (OpenAPI, uppercase types) works too; no schema gives {}."""
    state = tool_state()
    assert server_content(sent(feed(state, {"realtimeInput": {"text": "get_weathers or ping2"}})), "modelTurn")
    frames = sent(feed(state, {"realtimeInput": {"text": "please ping."}}))
    assert frames[0]["toolCall"]["functionCalls"][0] == {"id": "fc_1", "name": "ping", "args": {}}
    feed(state, {"toolResponse": {"functionResponses": [{"id": "fc_1", "response": {}}]}})
    frames = sent(feed(state, {"realtimeInput": {"text": "lookup x"}}))
    assert frames[0]["toolCall"]["functionCalls"][0]["args"] == {"q": "lookup x"}
    off = started(script=Script(tool_calls=False), tools=[WEATHER])
    assert "toolCall" not in sent(feed(off, {"realtimeInput": {"text": "ping"}}))[0]


def test_spoken_turn_can_call_a_tool() -> None:
    """The transcript of a spoken turn triggers tools like typed text."""
    state = tool_state(user_transcripts=("ping the server",))
    frames = feed_audio(state, SPEECH)
    assert frames[0]["toolCall"]["functionCalls"][0]["name"] == "ping"


@pytest.mark.parametrize(
    "message",
    [
        {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": "AAA="}}},
        {"realtimeInput": {"text": "hello?"}},
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "x"}]}], "turnComplete": True}},
    ],
)
def test_input_during_a_pending_call_aborts(message: dict[str, Any]) -> None:
    """Audio, text or clientContent before the toolResponse: 1008 The operation was aborted (§3.4)."""
    state = tool_state()
    feed(state, {"realtimeInput": {"text": "ping"}})
    assert closed_with(feed(state, message)) == (1008, "The operation was aborted")


def test_video_and_context_update_during_a_pending_call_are_fine() -> None:
    state = tool_state()
    feed(state, {"realtimeInput": {"text": "ping"}})
    assert feed(state, {"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": "_9g="}}}) == []
    assert state.phase is Phase.TOOL_CALL
    on_38 = started(LIVE_38, tools=[WEATHER], outputAudioTranscription={})
    feed(on_38, {"realtimeInput": {"text": "ping"}})
    assert feed(on_38, {"contextUpdate": {"systemInstruction": {"parts": [{"text": "x"}]}}}) == []
    assert on_38.phase is Phase.TOOL_CALL


def test_relaxed_rule_cancels_the_call_on_speech() -> None:
    """abort_on_input_during_tool_call=False: speech is a barge-in that cancels the pending call."""
    state = tool_state(abort_on_input_during_tool_call=False)
    feed(state, {"realtimeInput": {"text": "ping"}})
    frames = feed_audio(state, SPEECH)
    assert frames[:3] == [
        {"toolCallCancellation": {"ids": ["fc_1"]}},
        {"serverContent": {"interrupted": True}},
        {"serverContent": {"turnComplete": True}},
    ]
    assert transcript(frames) == "You said: user speech 1"
    late = {"toolResponse": {"functionResponses": [{"id": "fc_1", "response": {}}]}}
    assert feed(state, late) == [], "a late answer to a cancelled call is ignored"


def test_activity_start_cancels_a_pending_call() -> None:
    """Manual mode: activityStart during a pending call cancels it (no 1008)."""
    state = started(tools=[WEATHER], **MANUAL)
    feed(state, {"realtimeInput": {"text": "ping"}})
    frames = sent(feed(state, {"realtimeInput": {"activityStart": {}}}))
    assert frames[0] == {"toolCallCancellation": {"ids": ["fc_1"]}} and state.phase is Phase.LIVE


def test_scripted_cancellation() -> None:
    """Script(cancel_tool_calls=True): toolCall, toolCallCancellation, interrupted, turnComplete."""
    state = tool_state(cancel_tool_calls=True)
    frames = sent(feed(state, {"realtimeInput": {"text": "ping"}}))
    assert frames == [
        {"toolCall": {"functionCalls": [{"id": "fc_1", "name": "ping", "args": {}}]}},
        {"toolCallCancellation": {"ids": ["fc_1"]}},
        {"serverContent": {"interrupted": True}},
        {"serverContent": {"turnComplete": True}},
    ]
    assert state.phase is Phase.LIVE and state.cancelled_calls == {"fc_1"}
    assert feed(state, {"toolResponse": {"functionResponses": [{"id": "fc_1", "response": {}}]}}) == []
    assert transcript(sent(feed(state, {"realtimeInput": {"text": "hi"}}))) == "You said: hi"


def test_unknown_function_response_id() -> None:
    """An id that no call has: 1007."""
    state = tool_state()
    feed(state, {"realtimeInput": {"text": "ping"}})
    code, reason = closed_with(feed(state, {"toolResponse": {"functionResponses": [{"id": "fc_9"}]}}))
    assert code == 1007 and reason.startswith("Invalid function response id 'fc_9'")


def test_vertex_response_without_id_matches_by_name() -> None:
    """Vertex allows no id (§8): the pending call of that name is answered."""
    state = started(TEXT_MODEL, VERTEX, tools=[WEATHER], generationConfig={"responseModalities": ["TEXT"]})
    feed(state, {"realtimeInput": {"text": "ping"}})
    frames = sent(feed(state, {"toolResponse": {"functionResponses": [{"name": "ping", "response": {"ok": 1}}]}}))
    assert text_out(frames) == 'ping returned {"ok":1}'


# --- resumption, compression -------------------------------------------------------------------------------


def test_resumable_false_while_busy_and_handles_after_turns() -> None:
    """resumable:false (no handle) when a turn or call starts; a handle only once idle (§4)."""
    state = started(tools=[WEATHER], sessionResumption={})
    frames = sent(feed(state, {"realtimeInput": {"text": "ping"}}))
    assert frames[0] == {"sessionResumptionUpdate": {"resumable": False}}
    assert not any(f.get("sessionResumptionUpdate", {}).get("resumable") for f in frames)
    frames = sent(feed(state, {"toolResponse": {"functionResponses": [{"id": "fc_1", "response": {}}]}}))
    assert frames[-1]["sessionResumptionUpdate"]["resumable"] is True


def test_handles_expire() -> None:
    """A handle is valid for ttl_s of server time; then 1008 session not found."""
    now = [0.0]
    store = ResumptionStore(ttl_s=10.0, clock=lambda: now[0])
    first = started(store=store, sessionResumption={})
    handle = sent(feed(first, user("a")))[-1]["sessionResumptionUpdate"]["newHandle"]
    now[0] = 10.0
    assert started(store=store, sessionResumption={"handle": handle}).resumed_handle == handle
    now[0] = 10.5
    late = SessionState(first.route, store=store)
    message = {"setup": {"model": first.setup["model"] if first.setup else "", "sessionResumption": {"handle": handle}}}
    assert closed_with(feed(late, message)) == (1008, "BidiGenerateContent session not found")


def test_resumed_31_session_skips_history_seeding() -> None:
    """A resumed 3.1 session with historyConfig is live at once: its history is restored, not seeded."""
    store = ResumptionStore()
    first = started(LIVE_31, store=store, sessionResumption={})
    handle = sent(feed(first, {"realtimeInput": {"text": "x y"}}))[-1]["sessionResumptionUpdate"]["newHandle"]
    history_config = {"initialHistoryInClientContent": True}
    second = started(LIVE_31, store=store, sessionResumption={"handle": handle}, historyConfig=history_config)
    assert second.phase is Phase.LIVE
    frames = sent(feed(second, {"realtimeInput": {"text": "z"}}))
    assert frames[-2]["usageMetadata"]["promptTokenCount"] == 2 + 4 + 1  # "x y", "You said: x y", "z"


def test_sliding_window_compression() -> None:
    """Over triggerTokens, the oldest turns go, down to targetTokens, cut at a user turn (§3.1)."""
    state = started(
        systemInstruction={"parts": [{"text": "sys"}]},
        contextWindowCompression={"triggerTokens": "12", "slidingWindow": {"targetTokens": 8}},
    )
    first = sent(feed(state, user("a b c d")))  # 1 + 4 = 5 ≤ 12
    assert first[-1]["usageMetadata"]["promptTokenCount"] == 5
    second = sent(feed(state, user("e f")))  # 1 + 4 + 6 + 2 = 13 > 12: keep "e f" (1 + 2 = 3 ≤ 8)
    assert second[-1]["usageMetadata"]["promptTokenCount"] == 3
    assert state.compressions == 1
    assert [t.text() for t in state.history] == ["e f", "You said: e f"]
    no_window = started(contextWindowCompression={"triggerTokens": 1})
    feed(no_window, user("a b c"))
    feed(no_window, user("d"))
    assert no_window.compressions == 0, "no slidingWindow: no mechanism selected"


def test_each_history_turn_is_counted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every turn re-bills the whole history, but each history entry's tokens are counted once, not at every
    turn after it (a long session's turns cost the same as its first); the bill itself still grows."""
    counted: list[str] = []
    real = replies.content_tokens
    monkeypatch.setattr(replies, "content_tokens", lambda turn: counted.append(turn.text()) or real(turn))
    state = started()
    prompts = [sent(feed(state, user(f"turn {n}")))[-1]["usageMetadata"]["promptTokenCount"] for n in range(30)]
    # 30 user turns and 30 replies, each counted once; the last reply enters the prompt only at the next turn
    assert len(state.history) == 60 and counted == [turn.text() for turn in state.history[:-1]]
    assert prompts == sorted(prompts) and prompts[-1] > prompts[0]


def test_transparent_resumption_reports_the_last_consumed_message() -> None:
    """Vertex transparent mode: lastConsumedClientMessageIndex (int64 as a string)."""
    state = started(TEXT_MODEL, VERTEX, sessionResumption={"transparent": True})
    frames = sent(feed(state, user("a")))
    assert frames[-1]["sessionResumptionUpdate"]["lastConsumedClientMessageIndex"] == "1"


# --- goAway and faults ---------------------------------------------------------------------------------------


def test_go_away_after_turns() -> None:
    """After N completed turns: goAway{timeLeft}, then a Timer whose expiry closes 1008."""
    state = started(script=Script(go_away_after_turns=2, go_away_time_left_s=0.5))
    assert not any("goAway" in f for f in sent(feed(state, user("a"))))
    actions = feed(state, user("b"))
    assert sent(actions)[-1] == {"goAway": {"timeLeft": "0.5s"}}
    assert actions[-1] == Timer(0.5, "go_away_expired")
    assert state.go_aways_sent == 1
    assert on_timer(state, "go_away_expired") == [Close(1008, GO_AWAY_EXPIRED)]
    assert len(GO_AWAY_EXPIRED.encode()) <= 123 and state.phase is Phase.CLOSED


def test_go_away_after_seconds_is_a_timer_from_setup_complete() -> None:
    state = SessionState(VERTEX, Script(go_away_after_s=3.0))
    actions = feed(state, {"setup": {"model": "publishers/google/models/" + TEXT_MODEL}})
    assert "setupComplete" in sent(actions)[0] and actions[-1] == Timer(3.0, "go_away")
    assert sent(on_timer(state, "go_away")) == [{"goAway": {"timeLeft": "2s"}}]
    assert on_timer(state, "go_away") == [], "once per connection"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("close", Close(4000, "bye")), ("drop", Drop()), ("stall", Stall(None))],
)
def test_fault_right_after_the_first_audio_chunk(kind: str, expected: Any) -> None:
    """mid_audio: the fault comes right after the first audio chunk of the reply."""
    knobs: dict[str, Any] = {f"{kind}_at": "mid_audio", "close_code": 4000, "close_reason": "bye"}
    script = Script(**knobs)
    state = started(script=script)
    actions = feed(state, user("a b"))
    assert [type(a) for a in actions[:2]] == [Send, type(expected)] and actions[1] == expected
    assert state.faults == [f"{kind}@mid_audio"]


def test_fault_occurrence_and_connections() -> None:
    """fault_occurrence picks the Nth time the point is reached; fault_connections the first N connections."""
    script = Script(close_at="between_turns", fault_occurrence=2, fault_connections=1)
    state = started(script=script)
    assert not isinstance(feed(state, user("a"))[-1], Close)
    assert isinstance(feed(state, user("b"))[-1], Close)
    later = started(script=script, connection_index=2)
    assert not isinstance(feed(later, user("a"))[-1], Close)
    assert not isinstance(feed(later, user("b"))[-1], Close)


def test_before_setup_complete() -> None:
    """Close and drop replace setupComplete; a stall delays it."""
    state = SessionState(VERTEX, Script(close_at="before_setup_complete"))
    assert feed(state, {"setup": {"model": "publishers/google/models/" + TEXT_MODEL}}) == [
        Close(1011, "Internal error encountered.")
    ]
    state = SessionState(VERTEX, Script(stall_at="before_setup_complete", stall_s=1.0))
    actions = feed(state, {"setup": {"model": "publishers/google/models/" + TEXT_MODEL}})
    assert actions[0] == Stall(1.0) and "setupComplete" in sent(actions)[0]


def test_script_validates_points() -> None:
    with pytest.raises(ValueError, match="close_at"):
        Script(close_at="sometime")  # type: ignore[arg-type]
