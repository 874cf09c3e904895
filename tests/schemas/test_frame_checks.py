"""schemas/frame_checks.py: the cheap base64 check agrees with Gemini's decoder; nesting and event_id recovery."""

from __future__ import annotations

import base64

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.frame_checks import MAX_NESTING, event_id_of, is_base64, too_deep
from schemas.gemini import Blob
from schemas.openai import Dialect, parse_client_event
from tests.fuzz.mutator import nested
from translators.errors import ClientProtocolError


def gemini_takes(text: str) -> bool:
    """What the emulator (strict like Google: proto3 JSON bytes) accepts as audio data."""
    try:
        Blob.model_validate({"mime_type": "audio/pcm", "data": text})
    except ValueError:
        return False
    return True


@given(st.binary(max_size=200), st.booleans(), st.booleans())
def test_every_encoding_gemini_takes_passes(data: bytes, url_safe: bool, strip: bool) -> None:
    """Standard or URL-safe, padded or not: all pass the check (as they pass Gemini's decoder)."""
    text = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode()
    text = text.rstrip("=") if strip else text
    assert gemini_takes(text) and is_base64(text)


@given(st.text(alphabet=st.sampled_from("AZaz09+/-_=!\n é.\x00"), max_size=24))
def test_what_passes_gemini_also_takes(text: str) -> None:
    """Soundness: nothing the check lets through would be refused by Gemini (1007 for the whole session)."""
    if is_base64(text):
        assert gemini_takes(text), text


@pytest.mark.parametrize("text", ["AAAAA", "A===", "AA=A", "AAA=A", "!!!!", "AAAA\n", "ÀÀÀÀ", "AA==="])
def test_known_bad_audio_is_refused(text: str) -> None:
    assert not is_base64(text)


def test_nesting_is_measured_without_recursion() -> None:
    assert not too_deep(nested(MAX_NESTING - 1))  # the value itself is level 1: MAX_NESTING levels of objects
    assert too_deep(nested(MAX_NESTING + 1))
    assert too_deep(nested(100_000, arrays=True))  # far past Python's recursion limit


def test_a_deep_event_is_refused_with_its_event_id() -> None:
    """Item 5: before the models see it, with `invalid_event` and the client's event_id."""
    event = {"type": "response.create", "event_id": "e1", "response": {"metadata": nested(200)}}
    with pytest.raises(ClientProtocolError) as refused:
        parse_client_event(orjson.dumps(event), Dialect.GA)
    assert (refused.value.code, refused.value.event_id) == ("invalid_event", "e1")


@pytest.mark.parametrize(
    ("raw", "event_id"),
    [
        ('{"type":"response.create","event_id":"e\\u00e91"', "eé1"),  # cut short
        ('{"type":"response.create","event_id":"e2","response":{"metadata":' + "[" * 2000 + "]" * 2000 + "}}", "e2"),
        ('{"event_id": 5, "type": "x"', None),
        ("not json", None),
    ],
)
def test_an_unparsable_frame_echoes_what_event_id_it_shows(raw: str, event_id: str | None) -> None:
    """A frame that is not JSON (or is nested past the parser) still gets its event_id echoed when readable."""
    assert event_id_of(raw) == event_id
    with pytest.raises(ClientProtocolError) as refused:
        parse_client_event(raw, Dialect.GA)
    assert (refused.value.code, refused.value.event_id) == ("invalid_json", event_id)


def test_append_fast_path_checks_base64_and_keeps_the_event_id() -> None:
    """Item 11: the hot path refuses bad base64 with param `audio` and the event_id."""
    raw = orjson.dumps({"type": "input_audio_buffer.append", "event_id": "a1", "audio": "AAAA!"})
    with pytest.raises(ClientProtocolError) as refused:
        parse_client_event(raw, Dialect.GA)
    assert (refused.value.code, refused.value.param, refused.value.event_id) == ("invalid_value", "audio", "a1")
    good = {"type": "input_audio_buffer.append", "event_id": "a2", "audio": "AAA"}
    assert parse_client_event(orjson.dumps(good), Dialect.GA) == good
