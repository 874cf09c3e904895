"""schemas/pricing.py: per-modality rates and a session's cost summed over per-turn usageMetadata (§7)."""

from __future__ import annotations

import pytest

from schemas.pricing import UsageTally, cost_of, price_for


@pytest.mark.parametrize(
    ("model", "input_audio", "output_text"),
    [
        ("gemini-3.1-flash-live-preview", 3.00, 4.50),
        ("models/gemini-2.5-flash-native-audio-preview-12-2025", 3.00, 2.00),
        ("projects/p/locations/global/publishers/google/models/gemini-live-2.5-flash-native-audio", 3.00, 2.00),
        ("gemini-2.0-flash-live-001", 2.10, 1.50),
    ],
)
def test_price_table(model: str, input_audio: float, output_text: float) -> None:
    """Model ids match with or without resource prefixes."""
    price = price_for(model)
    assert price is not None and (price.input_audio, price.output_text) == (input_audio, output_text)


def test_unknown_model_has_no_price() -> None:
    """An unknown model is not guessed at: no price, tokens still counted."""
    assert price_for("gemini-3.8-live") is None
    tally = UsageTally(price=None)
    tally.add({"promptTokenCount": 10, "responseTokenCount": 5, "totalTokenCount": 15})
    assert (tally.tokens, tally.total_usd) == (15, 0.0)


def test_turns_are_summed_per_modality() -> None:
    """Developer and Vertex field names; every turn re-billed; thoughts at the output text rate."""
    tally = UsageTally(price=price_for("gemini-3.1-flash-live-preview"))
    tally.add(
        {
            "promptTokenCount": 1100,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}, {"modality": "AUDIO", "tokenCount": 1000}],
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": 500}],
            "thoughtsTokenCount": 200,
            "totalTokenCount": 1800,
        }
    )
    tally.add(
        {
            "promptTokensDetails": [{"modality": "IMAGE", "tokenCount": "300"}],
            "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 50}],
        }
    )
    expected_in = (100 * 0.75 + 1000 * 3.00 + 300 * 1.00) / 1e6
    expected_out = (500 * 12.00 + 200 * 4.50 + 50 * 4.50) / 1e6
    assert tally.input_usd == pytest.approx(expected_in) and tally.output_usd == pytest.approx(expected_out)
    assert tally.tokens == 1800 + 350 and tally.turns == 2


def test_model_info_overrides_use_litellm_names() -> None:
    """Per-token LiteLLM names replace the table's rates; an unknown model with overrides gets a price."""
    overrides = {"input_cost_per_audio_token": 5e-6, "output_cost_per_token": 1e-6}
    price = price_for("gemini-3.1-flash-live-preview", overrides)
    assert price is not None and price.input_audio == pytest.approx(5.0) and price.output_text == pytest.approx(1.0)
    assert price.input_text == 0.75  # untouched
    custom = price_for("gemini-3.8-live", {"input_cost_per_token": 2e-6})
    assert custom is not None and custom.input_text == pytest.approx(2.0) and custom.output_audio == 0.0


def test_cached_and_reasoning_rates() -> None:
    """Cached prompt tokens (a subset of the prompt) at the cached rate when one is set; thoughts at the
    reasoning rate when set, else output text."""
    usage = {
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1000}, {"modality": "AUDIO", "tokenCount": 100}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 400}],
        "responseTokensDetails": [{"modality": "TEXT", "tokenCount": 10}],
        "thoughtsTokenCount": 20,
    }
    table = price_for("gemini-3.1-flash-live-preview")
    plain = cost_of(usage, table)
    assert plain.input_usd == pytest.approx((1000 * 0.75 + 100 * 3.0) / 1e6)  # no cache price: full input rate
    assert plain.output_usd == pytest.approx((10 * 4.5 + 20 * 4.5) / 1e6)
    priced = price_for(
        "gemini-3.1-flash-live-preview",
        {"cache_read_input_token_cost": 0.1e-6, "output_cost_per_reasoning_token": 1e-6},
    )
    cost = cost_of(usage, priced)
    assert cost.input_usd == pytest.approx((600 * 0.75 + 400 * 0.1 + 100 * 3.0) / 1e6)
    assert cost.output_usd == pytest.approx((10 * 4.5 + 20 * 1.0) / 1e6)
    assert cost_of(usage, None).total_usd == 0.0
