"""Voices: Gemini's prebuilt voice names and the one table mapping OpenAI voices onto them."""

from __future__ import annotations

# GEMINI_LIVE.md §6: the 30 prebuilt voices; the real service closes the socket on any other name.
GEMINI_VOICES: frozenset[str] = frozenset(
    [
        "Zephyr",
        "Puck",
        "Charon",
        "Kore",
        "Fenrir",
        "Leda",
        "Orus",
        "Aoede",
        "Callirrhoe",
        "Autonoe",
        "Enceladus",
        "Iapetus",
        "Umbriel",
        "Algieba",
        "Despina",
        "Erinome",
        "Algenib",
        "Rasalgethi",
        "Laomedeia",
        "Achernar",
        "Alnilam",
        "Schedar",
        "Gacrux",
        "Pulcherrima",
        "Achird",
        "Zubenelgenubi",
        "Vindemiatrix",
        "Sadachbia",
        "Sadaltager",
        "Sulafat",
    ]
)

DEFAULT_GEMINI_VOICE = "Puck"

# OpenAI voice → the Gemini voice closest in character (Google's own descriptors: Puck upbeat, Charon
# informative, Kore firm, Fenrir excitable, Aoede breezy, Leda youthful, Orus firm, Zephyr bright, …).
OPENAI_TO_GEMINI_VOICE: dict[str, str] = {
    "alloy": "Puck",
    "ash": "Orus",
    "ballad": "Algenib",
    "coral": "Kore",
    "echo": "Charon",
    "sage": "Aoede",
    "shimmer": "Leda",
    "verse": "Fenrir",
    "marin": "Zephyr",
    "cedar": "Iapetus",
}

_BY_LOWER = {name.lower(): name for name in GEMINI_VOICES}


def gemini_voice(voice: str) -> str | None:
    """The Gemini voice for an OpenAI or Gemini voice name (case-insensitive), or None if unknown."""
    lower = voice.lower()
    return OPENAI_TO_GEMINI_VOICE.get(lower) or _BY_LOWER.get(lower)
