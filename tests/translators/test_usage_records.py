"""Every usageMetadata Gemini sends becomes exactly one RecordUsage, whichever way its turn or the session ends
(issue #10): a cancelled response left waiting when the session ends, a turn no response shows, a loss or a
failure after Gemini reported usage, a superseded call's dropped continuation."""

from __future__ import annotations

from typing import Any

from tests.translators.harness import records
from tests.translators.test_upstream import started
from translators.resume import Retry

USAGE: dict[str, Any] = {"promptTokenCount": 10, "responseTokenCount": 4, "totalTokenCount": 14}
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


def test_session_end_bills_a_cancelled_response_still_waiting() -> None:
    """response.cancel, then the session ends before the cut turn's turnComplete: its record goes out then."""
    play = started()
    play.recv({"serverContent": {"modelTurn": {"parts": [{"text": "Hel"}]}}})
    assert records(play.send({"type": "response.cancel"})) == []
    (record,) = records(play.upstream.session_ended())
    assert record.status == "cancelled" and play.upstream.session_ended() == []


def test_a_turn_without_a_response_is_billed_on_its_own() -> None:
    """turnComplete + usage after the toolCall ended the response: a record of its own, not the next one's."""
    play = started()
    play.send({"type": "session.update", "session": {"type": "realtime", "tools": TOOLS}})
    call = {"functionCalls": [{"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}}]}
    (first,) = records(play.recv({"toolCall": call}))
    (own,) = records(play.recv({"serverContent": {"turnComplete": True}, "usageMetadata": USAGE}))
    assert first.metadata == {} and own.metadata == USAGE and own.response_id != first.response_id


def test_usage_before_a_loss_goes_to_the_failed_response() -> None:
    """Usage Gemini sent mid-turn, then the link drops: the failed response's record carries it, once."""
    play = started()
    play.recv({"serverContent": {"modelTurn": {"parts": [{"text": "Hel"}]}}, "usageMetadata": USAGE})
    out = play.upstream.upstream_lost("server_error", "upstream_error", "lost", 1011, Retry.RESUME)
    (record,) = records(out)
    assert (record.status, record.metadata) == ("failed", USAGE)
    assert play.upstream.session_ended() == []


def test_usage_before_a_failure_goes_to_the_failed_response() -> None:
    """The same when Gemini is gone for good."""
    play = started()
    play.recv({"serverContent": {"modelTurn": {"parts": [{"text": "Hel"}]}}, "usageMetadata": USAGE})
    (record,) = records(play.upstream.upstream_failed("server_error", "upstream_error", "gone", 1011))
    assert (record.status, record.metadata) == ("failed", USAGE)


def test_a_superseded_calls_dropped_continuation_is_billed() -> None:
    """A user turn over a pending call drains Gemini's continuation of the old turn: its usage is a record."""
    play = started()
    play.send({"type": "session.update", "session": {"type": "realtime", "tools": TOOLS}})
    play.recv({"toolCall": {"functionCalls": [{"id": "fc_1", "name": "get_weather", "args": {}}]}})
    play.send({"type": "conversation.item.create", "item": _user("never mind")})
    play.send({"type": "response.create"})
    (drained,) = records(play.recv({"serverContent": {"turnComplete": True}, "usageMetadata": USAGE}))
    assert drained.metadata == USAGE and drained.status == "cancelled"


def _user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
