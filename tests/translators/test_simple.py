"""Seed 003's simple protocol ⇄ OpenAI events (translators/simple.py), without sockets."""

from __future__ import annotations

import pytest

from schemas.simple import ConfigData, parse_simple
from translators.audio import RatedPcm, input_decoder
from translators.errors import ClientProtocolError
from translators.session_config import SessionConfig
from translators.simple import SimpleTranslator, apply_config, initial_config, resolve_model

ALIASES = {"gemini-live": "gemini-2.5-flash-native-audio-preview-12-2025", "text": "gemini-2.0-flash-live-001"}


@pytest.mark.parametrize(
    ("name", "pinned", "alias"),
    [
        (None, None, "gemini-live"),  # no model: the default (first) alias
        ("text", None, "text"),  # an alias
        ("gemini-2.0-flash-live-001", None, "text"),  # the Gemini id an alias serves
        ("models/gemini-2.0-flash-exp", None, "gemini-live"),  # another Gemini id: the default alias
        ("gemini-2.0-flash-exp", "text", "text"),  # a secret pins the alias
        (None, "text", "text"),
    ],
)
def test_resolve_model(name: str | None, pinned: str | None, alias: str) -> None:
    """An alias, a Gemini id (its alias, else the default), or the secret's alias."""
    assert resolve_model(name, ALIASES, pinned) == alias


@pytest.mark.parametrize(("name", "pinned"), [("gpt-4o", None), ("gemini-live", "text")])
def test_resolve_model_refuses(name: str, pinned: str | None) -> None:
    """Not a Gemini model, or another alias than the secret's: invalid_model."""
    with pytest.raises(ClientProtocolError) as caught:
        resolve_model(name, ALIASES, pinned)
    assert caught.value.code == "invalid_model"


def test_config_maps_onto_the_session() -> None:
    """TEXT → text replies; AUDIO (alone or with TEXT) → audio with its transcript; temperature, token limit
    and voice carried; input stays pcm16 16 kHz, stated to Gemini as such."""
    base = initial_config("gemini-live")
    assert base.output_modalities == ("text",) and base.input_format == {"type": "audio/pcm", "rate": 16000}
    data = ConfigData.model_validate(
        {
            "generation_config": {
                "temperature": 0.2,
                "max_output_tokens": 50,
                "response_modalities": ["TEXT", "AUDIO"],
            },
            "voice": "Kore",
        }
    )
    config = apply_config(base, data)
    assert config.output_modalities == ("audio",) and config.temperature == 0.2
    assert config.max_output_tokens == 50 and config.voice == "Kore"
    decoder = input_decoder(config.input_format)
    assert isinstance(decoder, RatedPcm) and decoder.mime == "audio/pcm;rate=16000" and decoder("AAAA") == "AAAA"
    assert input_decoder(SessionConfig(model="m").input_format) is None  # 24 kHz: untouched, no decoder


def test_secret_preset_is_kept_under_the_seed_defaults() -> None:
    """A secret's preset (its instructions) survives; the input format becomes 16 kHz."""
    preset = SessionConfig(model="text", instructions="Be brief.", output_modalities=("audio",))
    config = initial_config("text", preset)
    assert config.instructions == "Be brief." and config.output_modalities == ("audio",)
    assert config.input_format["rate"] == 16000


def test_text_becomes_an_item_and_a_response_and_cancels_an_open_one() -> None:
    """Both text forms become item + response.create; while a response is open, a cancel goes first."""
    translator = SimpleTranslator()
    first = translator.client_events(parse_simple('{"type": "message", "data": {"text": "hi"}}'))
    assert [e["type"] for e in first] == ["conversation.item.create", "response.create"]
    assert first[0]["item"]["content"] == [{"type": "input_text", "text": "hi"}]
    assert translator.server_message({"type": "response.created", "response": {}}) is None
    second = translator.client_events(parse_simple('{"type": "text", "text": "again"}'))
    assert [e["type"] for e in second] == ["response.cancel", "conversation.item.create", "response.create"]
    translator.server_message({"type": "response.done", "response": {}})
    assert translator.client_events(parse_simple('{"type": "message", "data": "bare"}'))[0]["type"] == (
        "conversation.item.create"
    )


def test_server_events_become_simple_messages() -> None:
    """Text and transcript deltas → response; audio deltas → audio at 24 kHz; errors → error; the rest is
    not part of the protocol."""
    translator = SimpleTranslator()
    assert translator.server_message({"type": "response.output_text.delta", "delta": "Hi"}) == {
        "type": "response",
        "text": "Hi",
    }
    assert translator.server_message({"type": "response.output_audio_transcript.delta", "delta": " there"}) == {
        "type": "response",
        "text": " there",
    }
    assert translator.server_message({"type": "response.output_audio.delta", "delta": "AAAA"}) == {
        "type": "audio",
        "data": "AAAA",
        "format": "pcm16",
        "sampleRate": 24000,
    }
    assert translator.server_message({"type": "error", "error": {"message": "nope"}}) == {
        "type": "error",
        "data": "nope",
    }
    assert translator.server_message({"type": "session.created", "session": {}}) is None


def test_config_after_start_is_an_error() -> None:
    """config is the opening message only."""
    with pytest.raises(ClientProtocolError):
        SimpleTranslator().client_events(parse_simple('{"type": "config", "data": {}}'))
