"""Seed 003's simple protocol ⇄ OpenAI Realtime events (sans-I/O).

A thin adapter beside the translators: its client messages become OpenAI client events for the one session
pump, and the pump's OpenAI server events become its messages. No turn or response logic lives here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from schemas.simple import INPUT_RATE, OUTPUT_RATE, ConfigData
from schemas.voices import gemini_voice
from translators.errors import ClientProtocolError
from translators.session_config import SessionConfig

# The seed's own sample rates: pcm16 16 kHz in (stated to Gemini as is), 24 kHz out.
SIMPLE_INPUT_FORMAT: dict[str, Any] = {"type": "audio/pcm", "rate": INPUT_RATE}
CONNECTED = "Connected to Gemini Live"  # ai-proxy-core's first `system` message, kept word for word


def resolve_model(name: str | None, aliases: Mapping[str, str], pinned: str | None = None) -> str:
    """The alias a `config.data.model` selects: an alias itself, or, for a Gemini model id, the alias serving
    that id, else the default (first) alias. `pinned`: the alias an ephemeral secret was minted for."""
    default = pinned or next(iter(aliases))
    if name is None:
        return default
    if name in aliases:
        if pinned is not None and name != pinned:
            raise ClientProtocolError(
                "invalid_model", f"This client secret was minted for model {pinned!r}; config names {name!r}."
            )
        return name
    bare = name.removeprefix("models/")
    if not bare.startswith("gemini"):
        known = ", ".join(aliases)
        raise ClientProtocolError(
            "invalid_model", f"Unknown model {name!r}. This gateway serves: {known} (or name a Gemini model id)."
        )
    if pinned is None:
        return next((alias for alias, model_id in aliases.items() if model_id == bare), default)
    return default


def initial_config(alias: str, base: SessionConfig | None = None) -> SessionConfig:
    """A seed-003 session before its `config`: text replies (as ai-proxy-core answers), 16 kHz input."""
    start = base or SessionConfig(model=alias, output_modalities=("text",))
    return dataclasses.replace(start, model=alias, input_format=dict(SIMPLE_INPUT_FORMAT))


def apply_config(config: SessionConfig, data: ConfigData) -> SessionConfig:
    """`config.data`'s generation settings and voice on top of a session config."""
    changes: dict[str, Any] = {}
    generation = data.generation_config
    if generation is not None:
        if generation.response_modalities:
            modalities = {m.upper() for m in generation.response_modalities}
            # "When audio modality is enabled, Gemini provides both the audio data and text transcription."
            changes["output_modalities"] = ("audio",) if "AUDIO" in modalities else ("text",)
        if generation.temperature is not None:
            changes["temperature"] = generation.temperature
        if generation.max_output_tokens is not None:
            changes["max_output_tokens"] = generation.max_output_tokens
    if data.voice is not None:
        if gemini_voice(data.voice) is None:
            raise ClientProtocolError(
                "invalid_value", f"Unknown voice {data.voice!r}: use a Gemini voice name (e.g. Puck, Kore)."
            )
        changes["voice"] = data.voice
    return dataclasses.replace(config, **changes)


def _user_text(message: dict[str, Any]) -> str:
    if message["type"] == "text":
        return str(message["text"])
    data = message["data"]
    return data if isinstance(data, str) else str(data["text"])


class SimpleTranslator:
    """One seed-003 connection: its messages → OpenAI client events, OpenAI server events → its messages."""

    def __init__(self) -> None:
        self.responding = False  # a response is open (seen on its way out): new text cancels it first

    def client_events(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The OpenAI client events for one checked message (`schemas.simple.parse_simple`)."""
        if message["type"] == "audio":
            return [{"type": "input_audio_buffer.append", "audio": message["data"]}]
        if message["type"] == "config":
            raise ClientProtocolError(
                "invalid_value", "config is accepted only as the first message; reconnect to change it."
            )
        # ai-proxy-core sends each text with end_of_turn, which interrupts a reply in progress: cancel it here.
        cancel = [{"type": "response.cancel"}] if self.responding else []
        content = [{"type": "input_text", "text": _user_text(message)}]
        item = {"type": "message", "role": "user", "content": content}
        return [*cancel, {"type": "conversation.item.create", "item": item}, {"type": "response.create"}]

    def server_message(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The message carrying one OpenAI server event, or None when the simple protocol has no such message."""
        handler = _SERVER.get(event["type"])
        return handler(self, event) if handler is not None else None

    def _on_response_created(self, event: dict[str, Any]) -> None:
        self.responding = True

    def _on_response_done(self, event: dict[str, Any]) -> None:
        self.responding = False

    def _on_text_delta(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "response", "text": event["delta"]}

    def _on_output_audio_delta(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "audio", "data": event["delta"], "format": "pcm16", "sampleRate": OUTPUT_RATE}

    def _on_error(self, event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "error", "data": event["error"]["message"]}


_SERVER: dict[str, Callable[[SimpleTranslator, dict[str, Any]], dict[str, Any] | None]] = {
    "response.created": SimpleTranslator._on_response_created,
    "response.done": SimpleTranslator._on_response_done,
    "response.output_text.delta": SimpleTranslator._on_text_delta,
    "response.output_audio_transcript.delta": SimpleTranslator._on_text_delta,
    "response.output_audio.delta": SimpleTranslator._on_output_audio_delta,
    "error": SimpleTranslator._on_error,
}
