"""Gemini `usageMetadata` → OpenAI `response.usage` (OPENAI_REALTIME.md §6, GEMINI_LIVE.md §4, §7)."""

from __future__ import annotations

from typing import Any

# Gemini modality → the OpenAI detail field it is counted in. Video frames are images to OpenAI.
_MODALITY_FIELD: dict[str, str] = {
    "TEXT": "text_tokens",
    "AUDIO": "audio_tokens",
    "IMAGE": "image_tokens",
    "VIDEO": "image_tokens",
    "DOCUMENT": "text_tokens",
}


def _by_modality(details: list[dict[str, Any]] | None, fields: tuple[str, ...]) -> dict[str, int]:
    counts = dict.fromkeys(fields, 0)
    for detail in details or ():
        name = _MODALITY_FIELD.get(str(detail.get("modality")), "text_tokens")
        if name in counts:
            counts[name] += int(detail.get("tokenCount", 0))
    return counts


def empty_usage() -> dict[str, Any]:
    """The usage of a response that consumed nothing (cancelled before any output, §6)."""
    return map_usage({})


def map_usage(meta: dict[str, Any]) -> dict[str, Any]:
    """One turn's usage. Vertex names (`candidates*`) and Developer names (`response*`) both work.

    Invariants kept (§6): total = input + output; input = text + audio + image; output = text + audio.
    Tool-use prompt tokens count as input text; thinking tokens as output text (Gemini bills them so).
    """
    response_count = int(meta.get("responseTokenCount", meta.get("candidatesTokenCount", 0)))
    response_details = meta.get("responseTokensDetails", meta.get("candidatesTokensDetails"))
    thoughts = int(meta.get("thoughtsTokenCount", 0))
    tool_prompt = int(meta.get("toolUsePromptTokenCount", 0))
    prompt = int(meta.get("promptTokenCount", 0))

    inputs = _by_modality(meta.get("promptTokensDetails"), ("text_tokens", "audio_tokens", "image_tokens"))
    inputs["text_tokens"] += tool_prompt + max(0, prompt - sum(inputs.values()))
    cached = _by_modality(meta.get("cacheTokensDetails"), ("text_tokens", "audio_tokens", "image_tokens"))
    cached_total = int(meta.get("cachedContentTokenCount", sum(cached.values())))
    cached["text_tokens"] += max(0, cached_total - sum(cached.values()))

    outputs = _by_modality(response_details, ("text_tokens", "audio_tokens"))
    outputs["text_tokens"] += thoughts + max(0, response_count - sum(outputs.values()))

    input_tokens, output_tokens = sum(inputs.values()), sum(outputs.values())
    return {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_token_details": {**inputs, "cached_tokens": cached_total, "cached_tokens_details": cached},
        "output_token_details": outputs,
    }


def beta_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Beta usage objects have no image counts (OPENAI_REALTIME.md §6)."""
    details = usage["input_token_details"]
    cached = {k: v for k, v in details["cached_tokens_details"].items() if k != "image_tokens"}
    inputs = {k: v for k, v in details.items() if k != "image_tokens"}
    return {**usage, "input_token_details": {**inputs, "cached_tokens_details": cached}}
