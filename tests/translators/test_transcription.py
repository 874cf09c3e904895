"""Transcription sessions: the session object, the Gemini setup, and each utterance as OpenAI's §3.8 sequence."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, records, setups, types, upstream
from translators.commands import UsageKind
from translators.context import SessionKind
from translators.resume import Retry

MODEL = "gemini-3.5-transcribe-live"
AUDIO = "AAAA" * 1600  # 100 ms of pcm16 24 kHz (4800 bytes)


def transcribing(dialect: Dialect = Dialect.GA) -> Playbook:
    play = Playbook(dialect, model=MODEL, kind=SessionKind.TRANSCRIPTION)
    play.start()
    return play


def ga_update(**audio_in: Any) -> dict[str, Any]:
    return {"type": "session.update", "session": {"type": "transcription", "audio": {"input": audio_in}}}


def test_session_created_is_a_transcription_session() -> None:
    """GA: session.created with type transcription; beta: transcription_session.created; both valid shapes."""
    (ga,) = events(Playbook(Dialect.GA, model=MODEL, kind=SessionKind.TRANSCRIPTION).start())
    assert ga["type"] == "session.created" and ga["session"]["type"] == "transcription"
    assert ga["session"]["object"] == "realtime.transcription_session"
    assert set(ga["session"]["audio"]["input"]) == {"format", "transcription", "noise_reduction", "turn_detection"}
    assert "create_response" not in ga["session"]["audio"]["input"]["turn_detection"]
    (beta,) = events(Playbook(Dialect.BETA, model=MODEL, kind=SessionKind.TRANSCRIPTION).start())
    assert beta["type"] == "transcription_session.created" and beta["session"]["input_audio_format"] == "pcm16"


def test_setup_asks_for_text_and_input_transcription_with_hints() -> None:
    """language(s) → languageHints, keywords → adaptationPhrases; TEXT modality; no resumption, no tools."""
    play = transcribing()
    transcription = {"model": "gpt-4o-transcribe", "language": "fr", "keywords": ["Gemini", "livegate"]}
    (updated,) = events(play.send(ga_update(transcription=transcription)))
    assert (
        updated["type"] == "session.updated" and updated["session"]["audio"]["input"]["transcription"] == transcription
    )
    (setup,) = setups(play.send({"type": "input_audio_buffer.append", "audio": AUDIO}))
    assert setup == {
        "setup": {
            "model": f"models/{MODEL}",
            "generationConfig": {"responseModalities": ["TEXT"]},
            "inputAudioTranscription": {
                "languageHints": {"languageCodes": ["fr"]},
                "adaptationPhrases": ["Gemini", "livegate"],
            },
        }
    }


def test_beta_transcription_session_update() -> None:
    """Beta transcription_session.update → transcription_session.updated; turn_detection null → manual."""
    play = transcribing(Dialect.BETA)
    update = {"input_audio_transcription": {"model": "gpt-4o-mini-transcribe"}, "turn_detection": None}
    (updated,) = events(play.send({"type": "transcription_session.update", "session": update}))
    assert updated["type"] == "transcription_session.updated" and updated["session"]["turn_detection"] is None
    (setup,) = setups(play.send({"type": "input_audio_buffer.append", "audio": AUDIO}))
    assert setup["setup"]["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": True}}


@pytest.mark.parametrize(
    ("event", "param"),
    [
        ({"type": "session.update", "session": {"type": "realtime"}}, "session.type"),
        ({"type": "response.create"}, "type"),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]},
            },
            "type",
        ),
    ],
)
def test_conversation_events_are_refused(event: dict[str, Any], param: str) -> None:
    """Responses, client items and a realtime session.update are errors; the session goes on."""
    play = transcribing()
    (error,) = events(play.send(event))
    assert error["type"] == "error" and error["error"]["param"] == param


def test_an_utterance_becomes_the_openai_sequence() -> None:
    """Interim snapshots, the final transcript and generationComplete → speech_started … completed (tokens)."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    out = play.recv({"serverContent": {"interimInputTranscription": {"text": "hello"}}})
    out += play.recv({"serverContent": {"interimInputTranscription": {"text": "hello wor"}}})
    out += play.recv({"serverContent": {"inputTranscription": {"text": " hello world"}}})
    usage = {
        "promptTokenCount": 25,
        "responseTokenCount": 2,
        "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 25}],
    }
    out += play.recv({"serverContent": {"generationComplete": True}, "usageMetadata": usage})
    assert types(out) == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]
    seq = events(out)
    assert len({e.get("item_id") or e.get("item", {}).get("id") for e in seq}) == 1
    assert seq[5]["delta"] == "hello world" and seq[6]["transcript"] == "hello world"
    assert seq[6]["usage"] == {
        "type": "tokens",
        "input_tokens": 25,
        "output_tokens": 2,
        "total_tokens": 27,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 25},
    }
    assert play.state.conversation.get(seq[3]["item"]["id"])["content"][0]["transcript"] == "hello world"


def test_no_final_transcript_falls_back_to_the_last_interim_and_duration_usage() -> None:
    """A model that only sends interims: the last snapshot is the transcript; usage is the audio's duration."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.recv({"serverContent": {"interimInputTranscription": {"text": "one two"}}})
    (completed,) = [e for e in events(play.recv({"serverContent": {"turnComplete": True}})) if "completed" in e["type"]]
    assert completed["transcript"] == "one two" and completed["usage"]["type"] == "duration"


def test_manual_commit_ends_the_activity_and_gets_the_transcript() -> None:
    """turn_detection null: audio in an activity; the commit makes the item and sends activityEnd."""
    play = transcribing()
    play.send(ga_update(turn_detection=None))
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    out = play.send({"type": "input_audio_buffer.commit"})
    assert types(out) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert upstream(out) == [{"realtimeInput": {"activityEnd": {}}}]
    out = play.recv({"serverContent": {"inputTranscription": {"text": "typed by voice"}}})
    out += play.recv({"serverContent": {"generationComplete": True}})
    assert types(out) == [
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
    ]


def test_model_turns_are_ignored() -> None:
    """Nothing a transcription session cannot show (model text, output transcripts) reaches the client."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    out = play.recv({"serverContent": {"modelTurn": {"parts": [{"text": "hi"}]}, "outputTranscription": {"text": "x"}}})
    assert events(out) == []


def test_a_config_change_reconnects_between_utterances_and_a_loss_closes_the_utterance() -> None:
    """A language change after the upstream started takes a new upstream when no utterance is open; a lost
    upstream mid-utterance completes it with what was heard, then reconnects without history."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    out = play.send(ga_update(transcription={"language": "de"}))
    (setup,) = setups(out)
    assert setup["setup"]["inputAudioTranscription"] == {"languageHints": {"languageCodes": ["de"]}}
    play.connect()
    play.recv({"serverContent": {"interimInputTranscription": {"text": "guten"}}})
    out = play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.RESUME)
    assert types(out)[-1] == "conversation.item.input_audio_transcription.completed"
    (setup,) = setups(out)
    assert "sessionResumption" not in setup["setup"] and upstream(out) == []


def test_g711_input_is_decoded_in_transcription_sessions() -> None:
    """Beta pcmu input: the audio reaches Gemini as pcm16 8 kHz, like in a conversation."""
    play = transcribing(Dialect.BETA)
    play.send({"type": "transcription_session.update", "session": {"input_audio_format": "g711_ulaw"}})
    play.send({"type": "input_audio_buffer.append", "audio": "/////w=="})
    (audio,) = upstream(play.connect())
    assert audio["realtimeInput"]["audio"]["mimeType"] == "audio/pcm;rate=8000"


USAGE = {
    "promptTokenCount": 25,
    "responseTokenCount": 2,
    "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": 25}],
}


def test_each_utterance_is_one_usage_record() -> None:
    """An utterance's usageMetadata is one RecordUsage (kind TRANSCRIPTION) named by its item, with its words."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.recv({"serverContent": {"inputTranscription": {"text": "hello"}}})
    out = play.recv({"serverContent": {"generationComplete": True}, "usageMetadata": USAGE})
    (record,) = records(out)
    (completed,) = [e for e in events(out) if e["type"].endswith("completed")]
    assert record.response_id == completed["item_id"] and record.kind is UsageKind.TRANSCRIPTION
    assert record.metadata == USAGE and record.usage["input_token_details"]["audio_tokens"] == 25
    assert (record.status, record.user_text) == ("completed", "hello")


def test_usage_after_the_utterance_is_recorded_once_on_its_own() -> None:
    """usageMetadata in a frame of its own after the utterance ended: recorded at once under its own id, not
    added to the next utterance's record."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.recv({"serverContent": {"inputTranscription": {"text": "one"}}})
    (first,) = records(play.recv({"serverContent": {"generationComplete": True}}))
    (stray,) = records(play.recv({"usageMetadata": USAGE}))
    play.recv({"serverContent": {"inputTranscription": {"text": "two"}}})
    (second,) = records(play.recv({"serverContent": {"generationComplete": True}}))
    assert first.metadata == {} and stray.metadata == USAGE and second.metadata == {}
    assert len({first.response_id, stray.response_id, second.response_id}) == 3


def test_an_utterance_cut_by_a_lost_upstream_is_recorded_incomplete() -> None:
    """The usage Gemini sent for an utterance the upstream loss cut is recorded, status incomplete."""
    play = transcribing()
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.recv({"serverContent": {"interimInputTranscription": {"text": "half"}}, "usageMetadata": USAGE})
    out = play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.RESUME)
    (record,) = records(out)
    assert (record.status, record.metadata, record.user_text) == ("incomplete", USAGE, "half")
