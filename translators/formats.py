"""The audio facts both the hot path (translators/audio.py) and the G.711 codec (translators/g711.py) need."""

from __future__ import annotations

import enum

GEMINI_OUTPUT_RATE = 24000  # Gemini's output audio: pcm16 at 24 kHz (GEMINI_LIVE.md §3.3)
G711_RATE = 8000  # G.711 is 8 kHz (OPENAI_REALTIME.md §5.2)


class Law(enum.Enum):
    ULAW = "audio/pcmu"
    ALAW = "audio/pcma"
