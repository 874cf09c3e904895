"""profile.fresh_session_after_s: a Gemini session with a fixed lifetime is replaced by a fresh one (the
conversation replayed) at a turn boundary before its deadline (issue #13)."""

from __future__ import annotations

from dataclasses import replace

from schemas.openai import Dialect
from schemas.profiles import profile_for
from tests.translators.harness import Playbook, setups, types, upstream
from translators.commands import PrepareUpstream, RequestWakeup

MODEL = "gemini-3.8-live"
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}


def session() -> Playbook:
    """A 3.8 session whose first item dialled (clientContent models dial at the first item)."""
    play = Playbook(Dialect.GA, model=MODEL, profile=replace(profile_for(MODEL), fresh_session_after_s=3300.0))
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    return play


def wakeups(commands: list) -> list[RequestWakeup]:
    return [c for c in commands if isinstance(c, RequestWakeup)]


def test_a_fresh_session_asks_for_a_wakeup_and_a_resumed_one_does_not() -> None:
    """The first setup (no handle) asks to be woken at the profile's age; a resumption does not."""
    play = session()
    assert wakeups(play.log) == [RequestWakeup(3300.0, 1)]
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    out = play.recv({"goAway": {"timeLeft": "5s"}})
    assert setups(out)[0]["setup"]["sessionResumption"] == {"handle": "h1"} and wakeups(out) == []


def test_wakeup_when_idle_replays_into_a_fresh_session_at_once() -> None:
    """Idle at the wakeup: a spare socket, then a setup without handle and the conversation as history."""
    play = session()
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    play.recv({"serverContent": {"turnComplete": True}})
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    out = play.upstream.wakeup(1)
    assert out[0] == PrepareUpstream() and types(out) == []
    (setup,) = setups(out)
    assert setup["setup"]["sessionResumption"] == {} and wakeups(out) == [RequestWakeup(3300.0, 2)]
    (history,) = upstream(play.connect())
    turns = history["clientContent"]["turns"]
    assert [t["role"] for t in turns] == ["user", "model"] and not history["clientContent"]["turnComplete"]


def test_wakeup_mid_response_waits_for_the_turn_and_stale_tokens_are_ignored() -> None:
    """During a response only the spare socket is dialled; the switch follows the turn; an old token is void."""
    play = session()
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    assert play.upstream.wakeup(1) == [PrepareUpstream()]
    out = play.recv({"serverContent": {"turnComplete": True}})
    assert types(out)[-1] == "response.done" and len(setups(out)) == 1
    play.connect()
    assert play.upstream.wakeup(1) == []
