"""Per-response overrides of `response.create` (OPENAI_REALTIME.md §5.1): honoured, or refused by name.

A Gemini connection has one setup, so overrides that would change it (tools, voice, formats, token
limit, temperature) are refused unless they equal the session's. Output modality is honoured per
response (text withholds the audio); instructions travel with the turn; `conversation: "none"`
keeps the response out of the conversation store (Gemini still hears it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.openai import Dialect
from translators.errors import ClientProtocolError
from translators.response import Mode
from translators.session_config import BETA_TO_GA_FORMAT
from translators.state import SessionState, UpstreamPhase
from translators.tools import check_tools


@dataclass(frozen=True)
class ResponseOptions:
    mode: Mode
    in_conversation: bool
    metadata: dict[str, Any] | None
    instructions: str
    input: list[dict[str, Any]] | None = None  # response.input: the items this response answers


def _fixed(params: dict[str, Any], state: SessionState, shape: Dialect) -> dict[str, tuple[Any, Any]]:
    """Param path → (requested, session value) for the overrides a setup fixes."""
    cfg = state.config
    fixed: dict[str, tuple[Any, Any]] = {}
    if "tools" in params:
        fixed["response.tools"] = (list(params["tools"]), list(cfg.tools))
    if "tool_choice" in params:
        fixed["response.tool_choice"] = (params["tool_choice"], cfg.tool_choice)
    if shape is Dialect.GA:
        output = (params.get("audio") or {}).get("output") or {}
        for key, current in (("voice", cfg.voice), ("format", cfg.output_format)):
            if key in output:
                fixed[f"response.audio.output.{key}"] = (output[key], current)
        if "max_output_tokens" in params:
            fixed["response.max_output_tokens"] = (params["max_output_tokens"], cfg.max_output_tokens)
        return fixed
    if "voice" in params:
        fixed["response.voice"] = (params["voice"], cfg.voice)
    if "output_audio_format" in params:
        fixed["response.output_audio_format"] = (BETA_TO_GA_FORMAT[params["output_audio_format"]], cfg.output_format)
    if "max_response_output_tokens" in params:
        fixed["response.max_response_output_tokens"] = (params["max_response_output_tokens"], cfg.max_output_tokens)
    if "temperature" in params:
        fixed["response.temperature"] = (params["temperature"], cfg.temperature if cfg.temperature is not None else 0.8)
    return fixed


def response_options(params: dict[str, Any], state: SessionState, shape: Dialect) -> ResponseOptions:
    if "tools" in params:  # a bad schema is named as such, before the must-match-the-session rule
        check_tools(tuple(params["tools"]), params.get("tool_choice", state.config.tool_choice), "response")
    for path, (wanted, current) in _fixed(params, state, shape).items():
        if wanted != current:
            raise ClientProtocolError(
                "invalid_value",
                f"'{path}' must match the session on Gemini (one setup per connection); "
                "change it with session.update instead.",
                param=path,
            )
    if params.get("prompt"):
        raise ClientProtocolError(
            "invalid_value", "'response.prompt' is not available through this gateway.", param="response.prompt"
        )
    conversation = params.get("conversation", "auto")
    if conversation not in ("auto", "none"):
        raise ClientProtocolError(
            "invalid_value", "Supported values are: 'auto' and 'none'.", param="response.conversation"
        )
    modalities = params.get("output_modalities") or params.get("modalities") or state.config.output_modalities
    mode = Mode.AUDIO if "audio" in modalities else Mode.TEXT
    if mode is Mode.AUDIO and state.upstream_text and state.phase is not UpstreamPhase.IDLE:
        raise ClientProtocolError(
            "invalid_value",
            "This session was started with text output; switch it to audio with session.update first.",
            param="response.output_modalities" if shape is Dialect.GA else "response.modalities",
        )
    instructions = params.get("instructions") or ""
    return ResponseOptions(mode, conversation == "auto", params.get("metadata"), instructions, params.get("input"))
