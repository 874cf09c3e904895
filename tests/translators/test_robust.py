"""Issue #16 in the translators (no sockets): retries counted per turn, input queued behind a setup counted,
conversation size kept, manual turns that carry text, activity markers that follow the link, G.711 base64."""

from __future__ import annotations

import base64

from schemas.openai import Dialect
from tests.translators.harness import Playbook, closes, setups, types, upstream
from translators.audio import InputDecoder, Law
from translators.commands import ConnectUpstream
from translators.conversation import ITEM_OVERHEAD, Conversation
from translators.g711 import g711_decode
from translators.resume import MAX_RESUME_ATTEMPTS, Retry

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
MANUAL = {"type": "realtime", "audio": {"input": {"turn_detection": None}}}
AUDIO = base64.b64encode(bytes(960)).decode()


def lose(play: Playbook) -> list:
    return play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.RESUME)


def test_resumes_are_counted_per_turn_not_per_setup() -> None:
    """Item 2: a setupComplete no longer resets the count (Gemini cutting every turn would loop forever);
    a completed turn does."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    for _ in range(MAX_RESUME_ATTEMPTS):
        assert [c for c in lose(play) if isinstance(c, ConnectUpstream)]
        play.connect()  # the new link answers its setup, then is cut again
    out = lose(play)
    assert types(out)[-1] == "error" and closes(out)[0].code == 1011 and not setups(out)


def test_a_completed_turn_refills_the_retries() -> None:
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    for _ in range(MAX_RESUME_ATTEMPTS):
        lose(play)
        play.connect()
    play.recv({"serverContent": {"turnComplete": True}})
    assert setups(lose(play)), "a loss after a completed turn is resumed again"


def test_input_queued_behind_the_setup_is_counted() -> None:
    """Item 3: what waits for setupComplete is counted (the gateway caps it), and the count resets with it."""
    play = Playbook(Dialect.GA)
    play.start()
    for _ in range(10):
        play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    assert play.state.pending_bytes >= 10 * len(AUDIO)
    assert len(upstream(play.connect())) == 10 and play.state.pending_bytes == 0


def test_conversation_size_follows_inserts_updates_and_deletes() -> None:
    """Item 13: the size the cap is checked against."""
    conversation = Conversation()
    conversation.insert({"id": "a", "text": "x" * 100})
    conversation.insert({"id": "b", "content": [{"text": "y" * 50}]})
    assert conversation.size == 2 * ITEM_OVERHEAD + 150 + 2
    conversation.update({"id": "a", "text": "x" * 10})
    conversation.delete("b")
    assert conversation.size == ITEM_OVERHEAD + 10 + 1


def test_text_added_during_a_manual_activity_goes_before_its_end() -> None:
    """Item 12: appended turns (2.x) then activityEnd, in one response; nothing is left for the next one."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "session.update", "session": MANUAL})
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.send({"type": "conversation.item.create", "item": USER})
    sent = upstream(play.send({"type": "response.create"}))
    assert sent == [
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": False}},
        {"realtimeInput": {"activityEnd": {}}},
    ]
    assert play.state.unsent_items == []


def test_text_added_during_a_manual_activity_on_3x_models() -> None:
    """Item 12 on 3.x models: realtime text inside the activity (clientContent is refused mid-session)."""
    play = Playbook(Dialect.GA, model="gemini-3.1-flash-live-preview")
    play.start()
    play.send({"type": "session.update", "session": MANUAL})
    play.send({"type": "input_audio_buffer.append", "audio": AUDIO})
    play.connect()
    play.send({"type": "conversation.item.create", "item": USER})
    sent = upstream(play.send({"type": "response.create"}))
    assert sent == [{"realtimeInput": {"text": "hello"}}, {"realtimeInput": {"activityEnd": {}}}]


def test_activity_markers_follow_the_link_not_a_pending_config() -> None:
    """Found by the fuzz: a switch to manual turns waiting for the turn boundary must not put activityStart on
    the current link, whose setup has Gemini's VAD on (1007)."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.send({"type": "session.update", "session": MANUAL})  # waits for the turn boundary
    sent = upstream(play.send({"type": "input_audio_buffer.append", "audio": AUDIO}))
    assert [list(m["realtimeInput"]) for m in sent] == [["audio"]]


def test_an_empty_append_sends_nothing() -> None:
    """Found by the fuzz: no samples, no activity (an activity without audio gets no reply)."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "session.update", "session": MANUAL})
    assert play.send({"type": "input_audio_buffer.append", "audio": ""}) == []
    assert not play.state.activity_open


def test_g711_input_takes_unpadded_and_url_safe_base64() -> None:
    """Item 5: as Gemini takes pcm16 base64 (proto3 JSON bytes)."""
    decode = InputDecoder(Law.ULAW)
    want = base64.b64encode(g711_decode(b"\xff\xfe", Law.ULAW)).decode()
    assert decode("//4") == decode("__4") == decode("//4=") == want
