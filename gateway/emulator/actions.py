"""What one emulated session asks its server to do: send a frame, close, pause, stall, drop, set a timer, or
cancel a model turn's unsent frames (`behaviour.py` returns them; `server.py` carries them out in order)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Step(Enum):
    """What sending a frame means to the session (`commit` reacts to it)."""

    CONTENT = "content"  # modelTurn chunk of reply word `word` (audio or text)
    TRANSCRIPT = "transcript"  # outputTranscription of reply word `word`
    GENERATION_COMPLETE = "generation_complete"
    TURN_COMPLETE = "turn_complete"
    TOOL_CALL = "tool_call"
    GO_AWAY = "go_away"


@dataclass(frozen=True)
class Send:
    """Send one server message (a camelCase dict) as a binary frame."""

    message: dict[str, Any]
    turn: int | None = None  # the model turn it belongs to: `Cancel(turn)` drops it while unsent
    step: Step | None = None
    word: int | None = None  # reply word index of CONTENT / TRANSCRIPT frames


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with this code and (≤123-byte) reason."""

    code: int
    reason: str


@dataclass(frozen=True)
class Pause:
    """Reply pacing: wait before the next action. Cut short when its turn is cancelled."""

    seconds: float
    turn: int | None = None


@dataclass(frozen=True)
class Stall:
    """A scripted stall: send nothing for `seconds` (None: ever again); the socket stays open."""

    seconds: float | None


@dataclass(frozen=True)
class Drop:
    """A scripted transport abort: the TCP connection goes away without a close frame."""


@dataclass(frozen=True)
class Timer:
    """Call `on_timer(state, name)` after `seconds` of wall clock, counted from when this action is reached."""

    seconds: float
    name: str


@dataclass(frozen=True)
class Cancel:
    """Barge-in: drop every queued, unsent action of model turn `turn` (processed when queued)."""

    turn: int


Action = Send | Close | Pause | Stall | Drop | Timer | Cancel
