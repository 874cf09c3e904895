"""`Script`: the knobs of one emulator server: the model's pacing, VAD level, tools, goAway and faults.

Every field has a default that keeps the emulator fast and well behaved (what `make run` and most tests
want); a test that needs a slow reply, a goAway or a broken connection builds `EmulatorServer(script=Script(...))`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# Where a scripted fault fires (GEMINI_LIVE.md §5, §9.9). "after" means right after that frame was sent:
#   before_setup_complete  instead of (close, drop) or before (stall) the setupComplete frame
#   mid_audio              after the first audio chunk of a model reply (AUDIO sessions)
#   mid_text               after the first text of a reply: a modelTurn text chunk (TEXT sessions) or the
#                          first outputTranscription fragment (AUDIO sessions with outputAudioTranscription)
#   mid_tool_call          after a toolCall frame
#   between_turns          after a completed turn: its turnComplete and the sessionResumptionUpdate (and goAway)
FaultPoint = Literal["before_setup_complete", "mid_text", "mid_audio", "mid_tool_call", "between_turns"]
FAULT_POINTS: tuple[str, ...] = get_args(FaultPoint)

HANDLE_TTL_S = 2 * 60 * 60.0  # resumption handles stay valid for 2 h (§5)


@dataclass(frozen=True)
class Script:
    """Knobs of the emulated model, shared by all sessions of one server."""

    # --- the model's output ---
    audio_ms_per_word: int = 100  # synthetic speech per reply word
    audio_tokens_per_second: int = 25  # input audio billing rate (§5: about 25-32 tokens/s)
    reply_chunk_interval_s: float = 0.0  # pause after each reply word; 0 = as fast as possible, 0.1 = real time
    reply_latency_s: float = 0.0  # silence before a model turn's first frame (time to first token)
    # --- user speech (§3.1 realtimeInputConfig, §3.3) ---
    vad_threshold: float = 0.02  # frame RMS (full scale 1.0) that counts as voiced at HIGH start sensitivity
    user_transcripts: tuple[str, ...] = ()  # transcript of the Nth spoken turn; default "user speech N"
    # --- tools (§3.4) ---
    tool_calls: bool = True  # call a declared function whose name the user's text contains
    abort_on_input_during_tool_call: bool = True  # audio/text/clientContent while a call is pending: 1008
    cancel_tool_calls: bool = False  # follow every toolCall with toolCallCancellation + interrupted
    # --- lifecycle (§5) ---
    go_away_after_s: float | None = None  # wall clock from setupComplete to goAway
    go_away_after_turns: int | None = None  # goAway after this many completed turns
    go_away_time_left_s: float = 2.0  # goAway.timeLeft; the server closes when it runs out
    resumption_ttl_s: float | None = HANDLE_TTL_S  # None: handles never expire
    # A Gemini session's fixed lifetime, across resumptions: at this age the connection closes 1011 "Deadline
    # expired…" and resuming the session is refused with 1007 (reported for 3.8 at 58:00; None: no deadline).
    session_deadline_s: float | None = None
    # --- faults (each at most once per connection, at the `fault_occurrence`-th time the point is reached) ---
    close_at: FaultPoint | None = None  # close with close_code / close_reason
    close_code: int = 1011
    close_reason: str = "Internal error encountered."
    stall_at: FaultPoint | None = None  # stop sending (socket kept open) for stall_s seconds
    stall_s: float | None = None  # None: forever
    drop_at: FaultPoint | None = None  # abort the TCP connection, no close frame
    fault_occurrence: int = 1  # 1 = the first time the point is reached on a connection
    fault_connections: int | None = None  # only the first N connections of the server get faults and goAway

    def __post_init__(self) -> None:
        for name in ("close_at", "stall_at", "drop_at"):
            point = getattr(self, name)
            if point is not None and point not in FAULT_POINTS:
                raise ValueError(f"{name}={point!r}: expected one of {', '.join(FAULT_POINTS)}")
        if self.fault_occurrence < 1:
            raise ValueError("fault_occurrence counts from 1")
        if self.reply_chunk_interval_s < 0 or self.go_away_time_left_s < 0 or self.reply_latency_s < 0:
            raise ValueError("durations must not be negative")

    def applies_to(self, connection_index: int) -> bool:
        """Whether faults and goAway apply to the server's `connection_index`-th connection (1-based)."""
        return self.fault_connections is None or connection_index <= self.fault_connections

    def faults_at(self, point: str) -> list[str]:
        """The fault kinds scripted at `point`, in the order they are carried out."""
        kinds = (("stall", self.stall_at), ("drop", self.drop_at), ("close", self.close_at))
        return [kind for kind, at in kinds if at == point]
