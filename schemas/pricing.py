"""Gemini Live prices (USD per 1M tokens, by modality) and the cost of a `usageMetadata` snapshot.

GEMINI_LIVE.md §7: usage is per turn, not cumulative, and every turn re-bills the whole context at each
modality's input rate, so a session's cost is the sum over all of its `usageMetadata` snapshots. Per alias,
`model_info` may override any rate with LiteLLM's per-token names (`PRICE_OVERRIDES`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

PER_TOKEN = 1e-6  # prices are per million tokens


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; image and video input share one rate (§7). A cached or reasoning rate left None is
    billed at the plain rate of its modality (Google publishes no Live cache price; thoughts are output text)."""

    input_text: float
    input_audio: float
    input_image: float
    output_text: float
    output_audio: float
    cached_text: float | None = None  # cachedContentTokenCount / cacheTokensDetails, by modality
    cached_audio: float | None = None
    cached_image: float | None = None
    output_reasoning: float | None = None  # thoughtsTokenCount

    def input_rate(self, modality: str) -> float:
        if modality == "AUDIO":
            return self.input_audio
        if modality in ("IMAGE", "VIDEO"):
            return self.input_image
        return self.input_text  # TEXT, DOCUMENT, unspecified

    def cached_rate(self, modality: str) -> float:
        if modality == "AUDIO":
            rate = self.cached_audio
        elif modality in ("IMAGE", "VIDEO"):
            rate = self.cached_image
        else:
            rate = self.cached_text
        return self.input_rate(modality) if rate is None else rate

    def output_rate(self, modality: str) -> float:
        return self.output_audio if modality == "AUDIO" else self.output_text

    @property
    def reasoning_rate(self) -> float:
        return self.output_text if self.output_reasoning is None else self.output_reasoning

    def with_overrides(self, overrides: Mapping[str, float]) -> Price:
        """This price with `model_info` rates (LiteLLM names, USD per token) put in."""
        changes = {PRICE_OVERRIDES[name]: value / PER_TOKEN for name, value in overrides.items()}
        return dataclasses.replace(self, **changes)


# LiteLLM's `model_info` cost names (USD per token) → the Price field each sets.
PRICE_OVERRIDES: dict[str, str] = {
    "input_cost_per_token": "input_text",
    "input_cost_per_audio_token": "input_audio",
    "input_cost_per_image_token": "input_image",
    "output_cost_per_token": "output_text",
    "output_cost_per_audio_token": "output_audio",
    "cache_read_input_token_cost": "cached_text",
    "cache_read_input_audio_token_cost": "cached_audio",
    "cache_read_input_image_token_cost": "cached_image",
    "output_cost_per_reasoning_token": "output_reasoning",
}
FREE = Price(0.0, 0.0, 0.0, 0.0, 0.0)  # the base an override builds on for a model without a known price

_NATIVE_AUDIO_25 = Price(0.50, 3.00, 3.00, 2.00, 12.00)  # GA = preview price (§7)

# (pattern on the bare model id, price); the first match wins. §7, genai-prices google.yml (2026-07).
PRICES: tuple[tuple[str, Price], ...] = (
    ("gemini-3.1-flash-live-preview*", Price(0.75, 3.00, 1.00, 4.50, 12.00)),
    ("gemini-2.5-flash-native-audio-*", _NATIVE_AUDIO_25),
    ("gemini-live-2.5-flash*", _NATIVE_AUDIO_25),
    ("gemini-2.0-flash-live*", Price(0.35, 2.10, 2.10, 1.50, 8.50)),  # retired
)


def price_for(model: str, overrides: Mapping[str, float] | None = None) -> Price | None:
    """The price of a model id (`models/…` and Vertex resource prefixes ignored), with any `model_info`
    overrides; None when the model is unknown and nothing is overridden."""
    bare = model.rsplit("/", 1)[-1]
    price = next((price for pattern, price in PRICES if fnmatchcase(bare, pattern)), None)
    if overrides:
        return (price or FREE).with_overrides(overrides)
    return price


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


@dataclass(frozen=True)
class Cost:
    """USD of one usageMetadata snapshot."""

    input_usd: float
    output_usd: float

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd


def cost_of(usage: Mapping[str, Any], price: Price | None) -> Cost:
    """One turn's `usageMetadata` at these rates (Developer or Vertex field names, §7, §8).

    Prompt tokens by modality at the input rates (cached ones, a subset, at the cached rates), tool-use prompt
    tokens at the input rates, response tokens at the output rates, thoughts at the reasoning rate. One pass,
    no intermediate lists: this runs once per response.
    """
    if price is None:
        return Cost(0.0, 0.0)
    input_usd = _priced(usage, "promptTokensDetails", "promptTokenCount", price.input_rate)
    input_usd += _priced(usage, "toolUsePromptTokensDetails", "toolUsePromptTokenCount", price.input_rate)
    if "cacheTokensDetails" in usage or "cachedContentTokenCount" in usage:
        input_usd -= _priced(usage, "cacheTokensDetails", "cachedContentTokenCount", price.input_rate)
        input_usd += _priced(usage, "cacheTokensDetails", "cachedContentTokenCount", price.cached_rate)
    if "responseTokensDetails" in usage or "responseTokenCount" in usage:
        output_usd = _priced(usage, "responseTokensDetails", "responseTokenCount", price.output_rate)
    else:
        output_usd = _priced(usage, "candidatesTokensDetails", "candidatesTokenCount", price.output_rate)
    output_usd += _count(usage, "thoughtsTokenCount") * price.reasoning_rate
    return Cost(input_usd * PER_TOKEN, output_usd * PER_TOKEN)


def _priced(usage: Mapping[str, Any], details_key: str, count_key: str, rate: Callable[[str], float]) -> float:
    """Σ tokens × rate(modality) over a details list; a bare count without details is TEXT."""
    details = usage.get(details_key)
    if isinstance(details, list) and details:
        total = 0.0
        for detail in details:
            if isinstance(detail, dict):
                total += int(detail.get("tokenCount", 0)) * rate(str(detail.get("modality", "TEXT")))
        return total
    return _count(usage, count_key) * rate("TEXT")


def _response_details(usage: Mapping[str, Any]) -> list[tuple[str, int]]:
    return _details(usage, "responseTokensDetails", "responseTokenCount") or _details(
        usage, "candidatesTokensDetails", "candidatesTokenCount"
    )


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

    def add(self, usage: Mapping[str, Any]) -> Cost:
        """One turn's `usageMetadata` (Developer or Vertex field names, §8); returns its cost."""
        prompt = _details(usage, "promptTokensDetails", "promptTokenCount")
        prompt += _details(usage, "toolUsePromptTokensDetails", "toolUsePromptTokenCount")
        counted = sum(n for _, n in prompt + _response_details(usage)) + _count(usage, "thoughtsTokenCount")
        self.tokens += _count(usage, "totalTokenCount") or counted
        self.turns += 1
        cost = cost_of(usage, self.price)
        self.input_usd += cost.input_usd
        self.output_usd += cost.output_usd
        return cost
