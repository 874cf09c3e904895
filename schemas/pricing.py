"""Gemini Live prices (USD per 1M tokens, by modality) and a session's cost from its `usageMetadata` frames.

GEMINI_LIVE.md §7: usage is per turn, not cumulative, and every turn re-bills the whole context at each
modality's input rate, so a session's cost is the sum over all of its `usageMetadata` snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

PER_TOKEN = 1e-6  # prices are per million tokens


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; image and video input share one rate (§7)."""

    input_text: float
    input_audio: float
    input_image: float
    output_text: float
    output_audio: float

    def input_rate(self, modality: str) -> float:
        if modality == "AUDIO":
            return self.input_audio
        if modality in ("IMAGE", "VIDEO"):
            return self.input_image
        return self.input_text  # TEXT, DOCUMENT, unspecified

    def output_rate(self, modality: str) -> float:
        return self.output_audio if modality == "AUDIO" else self.output_text


_NATIVE_AUDIO_25 = Price(0.50, 3.00, 3.00, 2.00, 12.00)  # GA = preview price (§7)

# (pattern on the bare model id, price); the first match wins. §7, genai-prices google.yml (2026-07).
PRICES: tuple[tuple[str, Price], ...] = (
    ("gemini-3.1-flash-live-preview*", Price(0.75, 3.00, 1.00, 4.50, 12.00)),
    ("gemini-2.5-flash-native-audio-*", _NATIVE_AUDIO_25),
    ("gemini-live-2.5-flash*", _NATIVE_AUDIO_25),
    ("gemini-2.0-flash-live*", Price(0.35, 2.10, 2.10, 1.50, 8.50)),  # retired
)


def price_for(model: str) -> Price | None:
    """The price of a model id (`models/…` and Vertex resource prefixes ignored); None when unknown."""
    bare = model.rsplit("/", 1)[-1]
    return next((price for pattern, price in PRICES if fnmatchcase(bare, pattern)), None)


def _details(usage: Mapping[str, Any], details_key: str, count_key: str) -> list[tuple[str, int]]:
    """(modality, tokens) pairs; a bare count without details is taken as TEXT."""
    details = usage.get(details_key)
    if isinstance(details, list) and details:
        return [(str(d.get("modality", "TEXT")), int(d.get("tokenCount", 0))) for d in details if isinstance(d, dict)]
    count = _count(usage, count_key)
    return [("TEXT", count)] if count else []


def _count(usage: Mapping[str, Any], key: str) -> int:
    """An int64 count: a number or a decimal string (§2)."""
    value = usage.get(key)
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else 0


@dataclass
class UsageTally:
    """A session's running totals: tokens and USD from every `usageMetadata`, characters of text seen."""

    price: Price | None  # None: unknown model, costs stay 0
    input_usd: float = 0.0
    output_usd: float = 0.0
    tokens: int = 0
    characters: int = 0
    turns: int = 0  # usageMetadata snapshots added

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd

    def add(self, usage: Mapping[str, Any]) -> None:
        """One turn's `usageMetadata` (Developer or Vertex field names, §8)."""
        prompt = _details(usage, "promptTokensDetails", "promptTokenCount")
        prompt += _details(usage, "toolUsePromptTokensDetails", "toolUsePromptTokenCount")
        output = _details(usage, "responseTokensDetails", "responseTokenCount") or _details(
            usage, "candidatesTokensDetails", "candidatesTokenCount"
        )
        thoughts = _count(usage, "thoughtsTokenCount")  # billed at the output text rate (§7, unverified)
        counted = sum(n for _, n in prompt + output) + thoughts
        self.tokens += _count(usage, "totalTokenCount") or counted
        self.turns += 1
        if self.price is None:
            return
        price = self.price
        self.input_usd += sum(n * price.input_rate(m) for m, n in prompt) * PER_TOKEN
        self.output_usd += sum(n * price.output_rate(m) for m, n in output) * PER_TOKEN
        self.output_usd += thoughts * price.output_text * PER_TOKEN
