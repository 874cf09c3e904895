"""What a response or a user turn reads and writes of its session: the narrow view `SessionState` offers them.

`state.py` holds the session's data and refers to `Response` and `UserTurn`; they act on the session through
this protocol instead of importing `state.py` back, so the three modules import in one direction only.
"""

from __future__ import annotations

import enum
from typing import Protocol

from schemas.openai import Dialect
from translators.commands import RecordUsage
from translators.conversation import Conversation
from translators.emit import Emitter
from translators.ids import IdFactory
from translators.session_config import SessionConfig


class SessionKind(enum.Enum):
    """What the OpenAI session is for, fixed at the handshake (OPENAI_REALTIME.md §1.1, §3.8)."""

    REALTIME = "realtime"  # a conversation: responses, tools, items
    TRANSCRIPTION = "transcription"  # `?intent=transcription`: input transcription only (translators/transcription.py)


class SessionContext(Protocol):
    """The session facts responses and user turns need (all of them fields of `SessionState`)."""

    dialect: Dialect  # the client's dialect
    config: SessionConfig  # the effective session config (formats, transcription)
    ids: IdFactory  # id source for items and responses
    emit: Emitter  # event builder for the client's dialect
    conversation: Conversation  # the items, in order
    conversation_id: str  # conv_… shown in responses
    item_audio_ms: dict[str, float]  # assistant item id → audio ms sent (for conversation.item.truncate)
    unbilled: list[RecordUsage]  # cancelled responses whose usage comes with their Gemini turn's end
    kind: SessionKind  # conversation or transcription only (user turns always transcribe in the latter)
