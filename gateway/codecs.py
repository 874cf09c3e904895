"""G.711 companding and resampling (`translators/g711.py`: numpy and soxr) load with the first session that uses
them: about 100 ms of imports (and 13 MB) that a gateway serving only pcm16 never pays. They are loaded on a
worker thread, so the first phone session does not stall the event loop, and every other session with it
(issue #9). The translators import the module as before; by then it is cached."""

from __future__ import annotations

import asyncio
import importlib
import sys

from translators.session_config import SessionConfig

_MODULE = "translators.g711"
_NAMES = ("g711", "pcmu", "pcma")  # beta format strings (g711_ulaw, g711_alaw), GA types (audio/pcmu, audio/pcma)
_FRAME_HEAD = 64  # clients put "type" first: openai-python, openai-node, the Agents SDKs, the seeds' scripts


def loaded() -> bool:
    return _MODULE in sys.modules


def frame_wants_codecs(frame: str) -> bool:
    """A `session.update` (or `transcription_session.update`) naming a G.711 format while the codecs are not
    loaded yet. Only such frames are scanned whole, so audio frames cost one slice and one search; a frame
    this misses still works (the import then happens inline, as before)."""
    return not loaded() and frame.find("session.update", 0, _FRAME_HEAD) >= 0 and any(n in frame for n in _NAMES)


def preset_wants_codecs(preset: SessionConfig | None) -> bool:
    return preset is not None and not loaded() and any(
        name in str(fmt.get("type", "")) for fmt in (preset.input_format, preset.output_format) for name in _NAMES
    )


async def load() -> None:
    """Import the codecs on a worker thread (the import lock makes a concurrent inline import wait, not redo)."""
    if not loaded():
        await asyncio.to_thread(importlib.import_module, _MODULE)
