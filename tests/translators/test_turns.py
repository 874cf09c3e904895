"""Audio turns: manual commits, server-VAD events derived from Gemini, barge-in, truncate, G.711."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, records, setups, types, upstream
from tests.translators.test_golden import collapse, golden, shape
from translators.audio import Law
from translators.g711 import g711_encode

PCM_100MS = base64.b64encode(bytes(4800)).decode()  # 100 ms of pcm16 24 kHz silence
AUDIO_PART = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(bytes(9600)).decode()}}


def without_transcription(seq: list[dict]) -> list[dict]:
    return [e for e in seq if "transcription" not in e["type"]]


def manual(dialect: Dialect = Dialect.GA) -> Playbook:
    play = Playbook(dialect)
    play.start()
    play.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}})
    return play


def vad(transcription: bool = True) -> Playbook:
    play = Playbook(Dialect.GA)
    play.start()
    audio_in: dict[str, object] = {"turn_detection": {"type": "server_vad"}}
    if transcription:
        audio_in["transcription"] = {"model": "gpt-4o-mini-transcribe"}
    play.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": audio_in}}})
    play.send({"type": "input_audio_buffer.append", "audio": PCM_100MS})
    play.connect()
    return play


def test_manual_turn_brackets_audio_with_activity_signals() -> None:
    """turn_detection null: activityStart before audio, commit makes the item, response.create sends activityEnd."""
    play = manual()
    out = play.send({"type": "input_audio_buffer.append", "audio": PCM_100MS})
    assert setups(out)[0]["setup"]["realtimeInputConfig"] == {"automaticActivityDetection": {"disabled": True}}
    sent = upstream(play.connect())
    assert sent[0] == {"realtimeInput": {"activityStart": {}}} and "audio" in sent[1]["realtimeInput"]
    out = play.send({"type": "input_audio_buffer.commit"})
    assert types(out) == ["input_audio_buffer.committed", "conversation.item.added", "conversation.item.done"]
    assert events(out)[1]["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    assert upstream(out) == []
    out = play.send({"type": "response.create"})
    assert types(out) == ["response.created"] and upstream(out) == [{"realtimeInput": {"activityEnd": {}}}]


def test_commit_with_too_little_audio_is_an_error() -> None:
    """A commit with < 100 ms buffered → input_audio_buffer_commit_empty; clear → cleared."""
    play = manual()
    play.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(480)).decode()})
    (error,) = events(play.send({"type": "input_audio_buffer.commit", "event_id": "c"}))
    assert error["error"]["code"] == "input_audio_buffer_commit_empty" and error["error"]["event_id"] == "c"
    assert "10.00ms" in error["error"]["message"]
    assert types(play.send({"type": "input_audio_buffer.clear"})) == ["input_audio_buffer.cleared"]


def test_server_vad_turn_events_follow_golden_order() -> None:
    """Transcription → speech_started; model output → speech_stopped, committed, user item; then the response."""
    play = vad()
    out = play.recv({"serverContent": {"inputTranscription": {"text": "Hello"}}})
    assert types(out) == ["input_audio_buffer.speech_started"]
    out = play.recv({"serverContent": {"outputTranscription": {"text": "Sure!"}}})
    out += play.recv({"serverContent": {"modelTurn": {"parts": [AUDIO_PART]}}})
    out += play.recv({"serverContent": {"inputTranscription": {"text": " there."}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    seq = events(out)
    want = [e for e in golden("ga_audio.jsonl") if e["type"] != "input_audio_buffer.speech_started"]
    # Transcription events may come anywhere after the commit (§3.4); compare the rest in order.
    assert collapse(without_transcription(seq)) == collapse(without_transcription(want))
    user = next(e for e in seq if e["type"] == "input_audio_buffer.committed")["item_id"]
    added = next(e for e in seq if e["type"] == "conversation.item.added")
    assert added["item"]["id"] == user and added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    deltas = [e for e in seq if e["type"] == "conversation.item.input_audio_transcription.delta"]
    assert [d["delta"] for d in deltas] == ["Hello", " there."] and {d["item_id"] for d in deltas} == {user}
    (completed,) = [e for e in seq if e["type"] == "conversation.item.input_audio_transcription.completed"]
    assert completed["transcript"] == "Hello there." and completed["usage"]["type"] == "duration"
    assert (
        seq[-1]["type"] == "conversation.item.input_audio_transcription.completed" or seq[-1]["type"] == "response.done"
    )
    assert next(shape(e) for e in seq if e["type"] == "response.done").keys() == shape(want[-1]).keys()


def test_reply_without_speech_signals_still_has_a_committed_user_turn() -> None:
    """No transcription, no voiceActivity: the appended audio becomes a user item when Gemini answers."""
    play = vad(transcription=False)
    out = play.recv({"serverContent": {"modelTurn": {"parts": [AUDIO_PART]}}})
    assert types(out)[:6] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    assert events(out)[1]["audio_end_ms"] == 100


def test_barge_in_matches_golden() -> None:
    """interrupted mid-reply: speech_started, the part closes, response.done cancelled; then truncate works."""
    play = vad()
    play.recv({"serverContent": {"inputTranscription": {"text": "Tell me"}}})
    play.recv({"serverContent": {"modelTurn": {"parts": [AUDIO_PART]}}})
    play.recv({"serverContent": {"outputTranscription": {"text": "Sure, let me"}}})
    out = without_transcription(events(play.recv({"serverContent": {"interrupted": True}})))
    want = golden("ga_barge_in.jsonl")
    assert [e["type"] for e in out] == [e["type"] for e in want[:7]]
    assert [shape(e) for e in out[1:6]] == [shape(e) for e in want[1:6]]
    done = out[-1]["response"]
    assert done["status"] == "cancelled" and done["output"][0]["status"] == "incomplete"
    item_id = done["output"][0]["id"]
    (truncated,) = events(
        play.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 100})
    )
    assert truncated == {**truncated, "type": "conversation.item.truncated", "audio_end_ms": 100}
    (retrieved,) = events(play.send({"type": "conversation.item.retrieve", "item_id": item_id}))
    assert retrieved["item"]["content"][0]["transcript"] == "Sure, "
    (error,) = events(
        play.send({"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": 5000})
    )
    assert "shorter than 5000ms" in error["error"]["message"]
    (error,) = events(
        play.send({"type": "conversation.item.truncate", "item_id": "nope", "content_index": 0, "audio_end_ms": 1})
    )
    assert error["error"]["code"] == "item_truncate_invalid_item_id"
    late = play.recv({"serverContent": {"turnComplete": True}})  # the cut turn's end: nothing for the client
    assert events(late) == [] and [r.status for r in records(late)] == ["cancelled"]


def test_transcripts_only_when_asked() -> None:
    """Without audio.input.transcription, Gemini's input transcript is kept on the item but not streamed."""
    play = vad(transcription=False)
    out = play.recv({"serverContent": {"inputTranscription": {"text": "Hi"}}})
    out += play.recv({"serverContent": {"modelTurn": {"parts": [AUDIO_PART]}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    assert not [t for t in types(out) if "transcription" in t]
    user = events(out)[1]["item_id"]
    (retrieved,) = events(play.send({"type": "conversation.item.retrieve", "item_id": user}))
    assert retrieved["item"]["content"][0]["transcript"] == "Hi"


def test_g711_in_and_out() -> None:
    """µ-law input reaches Gemini as pcm16 at 8 kHz; 24 kHz output reaches the client as µ-law 8 kHz."""
    play = Playbook(Dialect.BETA)
    play.start()
    play.send(
        {"type": "session.update", "session": {"input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw"}}
    )
    ulaw = base64.b64encode(g711_encode(np.zeros(800, dtype="<i2").tobytes(), Law.ULAW)).decode()
    play.send({"type": "input_audio_buffer.append", "audio": ulaw})
    (sent,) = upstream(play.connect())
    blob = sent["realtimeInput"]["audio"]
    assert blob["mimeType"] == "audio/pcm;rate=8000" and len(base64.b64decode(blob["data"])) == 1600
    assert play.state.buffer_ms == 100
    out = play.recv({"serverContent": {"modelTurn": {"parts": [AUDIO_PART]}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    audio = b"".join(base64.b64decode(e["delta"]) for e in events(out) if e["type"] == "response.audio.delta")
    assert abs(len(audio) - 1600) <= 4  # 200 ms at 8 kHz, one byte per sample


def test_golden_files_are_read() -> None:
    """The golden directory is where the harness looks (guards against silently empty comparisons)."""
    assert golden("ga_barge_in.jsonl") and json.loads(
        (Path(__file__).parents[1] / "fixtures/golden/ga_audio.jsonl").read_text().splitlines()[0]
    )
