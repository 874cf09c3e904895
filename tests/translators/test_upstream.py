"""UpstreamTranslator: Gemini frames → OpenAI events, usage, thoughts, interruptions and failures."""

from __future__ import annotations

from schemas.openai import Dialect
from tests.translators.harness import Playbook, closes, events, records, types, upstream
from translators.commands import Mark, Milestone
from translators.usage import map_usage

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}


def started(dialect: Dialect = Dialect.GA, text: bool = True) -> Playbook:
    play = Playbook(dialect)
    play.start()
    if text:
        play.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    return play


def test_setup_complete_flushes_queue_in_order() -> None:
    """Messages queued while connecting go out in order once setupComplete arrives."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "input_audio_buffer.append", "audio": "AA=="})
    play.send({"type": "input_audio_buffer.append", "audio": "AQ=="})
    assert [m["realtimeInput"]["audio"]["data"] for m in upstream(play.connect())] == ["AA==", "AQ=="]


def test_text_mode_withholds_audio_and_uses_transcript() -> None:
    """In a text session on an audio-only model, audio is dropped and the transcript becomes output_text."""
    play = started()
    out = play.recv(
        {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAA"}}]},
                "outputTranscription": {"text": "Hi"},
            }
        }
    )
    assert "response.output_audio.delta" not in types(out)
    assert [e["delta"] for e in events(out) if e["type"] == "response.output_text.delta"] == ["Hi"]


def test_thought_parts_are_dropped() -> None:
    """Parts marked thought:true never reach the client (GEMINI_LIVE.md §9.8)."""
    play = Playbook(Dialect.GA, model="gemini-2.0-flash-live-preview-04-09")
    play.start()
    play.send({"type": "session.update", "session": {"type": "realtime", "output_modalities": ["text"]}})
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    out = play.recv(
        {"serverContent": {"modelTurn": {"parts": [{"text": "thinking", "thought": True}, {"text": "Answer"}]}}}
    )
    assert [e["delta"] for e in events(out) if e["type"] == "response.output_text.delta"] == ["Answer"]


def test_usage_maps_into_response_done() -> None:
    """usageMetadata (Developer names) becomes the full OpenAI usage object in response.done."""
    play = started()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    meta = {
        "promptTokenCount": 100,
        "responseTokenCount": 30,
        "totalTokenCount": 130,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": 60},
            {"modality": "AUDIO", "tokenCount": 40},
        ],
        "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}],
    }
    out = play.recv({"serverContent": {"turnComplete": True}, "usageMetadata": meta})
    done = events(out)[-1]
    usage = done["response"]["usage"]
    assert usage["input_tokens"] == 100 and usage["output_tokens"] == 30 and usage["total_tokens"] == 130
    assert usage["input_token_details"]["audio_tokens"] == 40 and usage["output_token_details"]["audio_tokens"] == 30
    (record,) = records(out)  # after response.done, for spend: exactly the usage the client saw, and Gemini's own
    assert out.index(record) > out.index(next(c for c in out if getattr(c, "event", None) is done))
    assert record.response_id == done["response"]["id"] and record.status == "completed"
    assert record.usage == usage and record.metadata == meta
    assert (record.user_text, record.assistant_text) == ("hello", "Hi")


def test_every_response_gets_one_record() -> None:
    """Failed responses are recorded too (no usage), once; a Vertex-named usage is recorded as mapped."""
    play = started()
    out = play.upstream.upstream_failed("server_error", "upstream_error", "Gemini had an internal error.", 1011)
    (failed,) = records(out)
    assert failed.status == "failed" and failed.usage["total_tokens"] == 0 and failed.metadata == {}
    play = started()
    meta = {"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 2}
    (record,) = records(play.recv({"serverContent": {"turnComplete": True}, "usageMetadata": meta}))
    assert record.usage["output_tokens"] == 7 and record.usage == map_usage(meta)


def test_vertex_usage_names() -> None:
    """Vertex's candidatesTokenCount/candidatesTokensDetails are read like the Developer names."""
    usage = map_usage(
        {
            "promptTokenCount": 10,
            "candidatesTokenCount": 5,
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
            "thoughtsTokenCount": 2,
        }
    )
    assert usage["output_tokens"] == 7 and usage["total_tokens"] == 17
    assert usage["input_token_details"]["text_tokens"] == 10


def test_interrupted_cancels_with_turn_detected() -> None:
    """serverContent.interrupted closes the response as cancelled (turn_detected), items incomplete."""
    play = started(text=False)
    play.recv({"serverContent": {"outputTranscription": {"text": "Sure, let"}}})
    out = play.recv({"serverContent": {"interrupted": True}})
    done = events(out)[-1]
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert types(out)[:4] == [
        "input_audio_buffer.speech_started",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
    ]
    late = play.recv({"serverContent": {"turnComplete": True}})  # the cut turn's end: nothing for the client
    assert events(late) == [] and [r.status for r in records(late)] == ["cancelled"]


def test_server_started_turn_gets_its_own_response() -> None:
    """Content with no response.create (server VAD) opens a response the client can follow."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "input_audio_buffer.append", "audio": "AA=="})
    play.connect()
    out = play.recv({"serverContent": {"outputTranscription": {"text": "Yes?"}}})
    assert types(out)[:6] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    assert types(play.recv({"serverContent": {"turnComplete": True}}))[-1] == "response.done"


def test_upstream_failure_fails_response_and_closes() -> None:
    """A fatal upstream close fails the open response, sends one error and closes the client."""
    play = started()
    out = play.upstream.upstream_failed("server_error", "upstream_error", "Gemini had an internal error.", 1011)
    assert types(out) == ["response.done", "error"]
    assert events(out)[0]["response"]["status"] == "failed"
    (close,) = closes(out)
    assert close.code == 1011 and close.reason == "server_error.upstream_error"


def test_resumption_handle_is_kept() -> None:
    """Only resumable handles are kept."""
    play = started()
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    play.recv({"sessionResumptionUpdate": {"resumable": False}})
    assert play.state.resumption_handle == "h1"


def test_beta_audio_names() -> None:
    """Beta clients get response.audio.delta / response.audio_transcript.delta."""
    play = started(Dialect.BETA, text=False)
    out = play.recv(
        {
            "serverContent": {
                "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAA"}}]},
                "outputTranscription": {"text": "Hi"},
            }
        }
    )
    assert "response.audio.delta" in types(out) and "response.audio_transcript.delta" in types(out)


def test_milestones_for_metrics() -> None:
    """response.created and the first audio delta are marked once per response (the gateway timestamps them);
    every error event is marked with its code."""
    play = started(text=False)
    out = play.log
    created = [c for c in out if isinstance(c, Mark) and c.what is Milestone.RESPONSE_CREATED]
    assert len(created) == 1
    response_id = created[0].detail
    first = play.recv({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AAAA"}}]}}})
    more = play.recv({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "AAAA"}}]}}})
    marks = [c for c in first + more if isinstance(c, Mark)]
    assert marks == [Mark(Milestone.FIRST_AUDIO, response_id)]
    errors = [c for c in play.send({"type": "bogus.event"}) if isinstance(c, Mark)]
    assert errors == [Mark(Milestone.ERROR, "invalid_value")]
