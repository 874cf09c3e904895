"""(Re)connecting the upstream: the first setup, reconfiguration, and resumption after a drop.

GEMINI_LIVE.md §3.1 sessionResumption, §9.9; all config but the model may change on resume (Google's
forum answer on mid-session config changes; instructions and tools change in place where a model takes
`contextUpdate`: translators/context_update.py). With a resumption handle Gemini restores the conversation;
without one (refused, or a session past its lifetime), what Gemini had heard is replayed as history so the
new connection knows the conversation all the same.
"""

from __future__ import annotations

import enum
from typing import Any

from schemas.profiles import ModelProfile, UserText
from translators.commands import Command, ConnectUpstream, RequestWakeup
from translators.context import SessionKind
from translators.history import history_message
from translators.session_config import build_setup, upstream_is_text
from translators.state import SessionState, UpstreamPhase
from translators.supersede import as_heard
from translators.transcription_config import transcription_setup

MAX_RESUME_ATTEMPTS = 3  # consecutive failed resumptions before the client is told
# The most to wait before each resumption attempt; the gateway waits a uniform draw below it (full jitter),
# so even the first attempt is spread when Gemini drops every session at once.
BACKOFF_S = (0.25, 0.5, 1.0)


class Retry(enum.Enum):
    """What to do when the upstream goes away (the gateway classifies the close, GEMINI_LIVE.md §5.1)."""

    NO = "no"  # the request itself was refused: tell the client
    RESUME = "resume"  # a fault or a planned end: reconnect with the latest handle
    REPLAY = "replay"  # the handle was refused: reconnect without it, replaying the conversation


def connect(state: SessionState, history: list[dict[str, Any]], *, delay_s: float = 0.0) -> list[Command]:
    """Dial with the session's current setup; `history` items go first, before any other message."""
    if state.kind is SessionKind.TRANSCRIPTION:  # nothing to restore: the new upstream just listens
        state.phase, state.upstream_text = UpstreamPhase.CONNECTING, True
        state.link_manual = state.config.manual_turns
        return [ConnectUpstream(transcription_setup(state.config, state.model_resource), delay_s)]
    message = history_message(as_heard(history, state), state.profile, state.media) if history else None
    initial_history = message is not None and state.profile.history_at_start_only
    setup = build_setup(state.config, state.profile, state.model_resource, initial_history=initial_history)
    out: list[Command] = [ConnectUpstream(setup, delay_s)]
    if state.resumption_handle:
        setup["setup"]["sessionResumption"] = {"handle": state.resumption_handle}
    elif state.profile.fresh_session_after_s is not None:  # a new Gemini session: its age starts now
        state.session_epoch += 1
        out.append(RequestWakeup(delay_s + state.profile.fresh_session_after_s, state.session_epoch))
    state.phase = UpstreamPhase.CONNECTING
    state.upstream_text = upstream_is_text(state.config, state.profile)
    state.link_manual = state.config.manual_turns  # what this setup asks of Gemini's VAD
    if message is not None:
        state.pending_upstream.insert(0, message)
    return out


def reconnect(state: SessionState, *, delay_s: float = 0.0) -> list[Command]:
    """A new upstream for this session: resumed by handle, else with the heard conversation replayed.

    A turn in flight is asked again after either: a handle never covers it (it comes after turnComplete),
    and a replay leaves its items out so that they are not heard twice.
    """
    state.reconnect_pending = False
    heard = [] if state.resumption_handle else heard_before_turn(state)
    out = connect(state, heard, delay_s=delay_s)
    if state.turn_trigger is not None and state.turn_trigger not in state.pending_upstream:
        state.pending_upstream.append(state.turn_trigger)
    return out


def heard_items(state: SessionState) -> list[dict[str, Any]]:
    """Conversation items already sent to Gemini, in order."""
    unsent = set(state.unsent_items)
    return [item for item in state.conversation.items() if item["id"] not in unsent]


def ready_to_switch(state: SessionState) -> bool:
    """A planned switch waits for the turn boundary and for the handle that covers the finished turn
    (Gemini sends it just after turnComplete, GEMINI_LIVE.md §4.1)."""
    return at_turn_boundary(state) and state.handle_fresh


def heard_before_turn(state: SessionState) -> list[dict[str, Any]]:
    """What Gemini had heard before the turn in flight (that turn is asked again; its partial answer,
    which no handle would have kept either, is not replayed)."""
    heard = heard_items(state)
    if state.turn_trigger is None or not state.turn_items:
        return heard
    first = next((n for n, item in enumerate(heard) if item["id"] in state.turn_items), len(heard))
    return heard[:first]


def at_turn_boundary(state: SessionState) -> bool:
    """Nothing in flight: no response streaming, no call awaiting output, no user activity open."""
    return state.response is None and not state.calls_pending and not state.drain_turns and not state.activity_open


def setup_for_profile(
    state: SessionState, setup: dict[str, Any], profile: ModelProfile, model_resource: str
) -> dict[str, Any]:
    """The setup for a fallback deployment (seed 002): rebuilt when its model takes different input."""
    if profile == state.profile or state.kind is SessionKind.TRANSCRIPTION:
        return setup
    rebuilt = build_setup(state.config, profile, model_resource, initial_history="historyConfig" in setup["setup"])
    rebuilt["setup"]["sessionResumption"] = setup["setup"].get("sessionResumption", {})
    return rebuilt


def adopt_deployment(state: SessionState, profile: ModelProfile, model_resource: str) -> None:
    """The deployment that answered decides how turns are sent (user text mode, TEXT output); text
    already queued for the first deployment is rewritten for this one (GEMINI_LIVE.md §3.2, §3.3)."""
    if profile.user_text is not state.profile.user_text:
        state.pending_upstream = [_retarget(message, profile) for message in state.pending_upstream]
        if state.turn_trigger is not None:
            state.turn_trigger = _retarget(state.turn_trigger, profile)
    state.profile, state.model_resource = profile, model_resource
    state.upstream_text = upstream_is_text(state.config, profile)


def _retarget(message: dict[str, Any], profile: ModelProfile) -> dict[str, Any]:
    content = message.get("clientContent")
    if profile.user_text is UserText.REALTIME_TEXT and content and content.get("turnComplete"):
        lines = [part.get("text", "") for turn in content.get("turns", ()) for part in turn.get("parts", ())]
        return {"realtimeInput": {"text": "\n".join(line for line in lines if line)}}
    text = (message.get("realtimeInput") or {}).get("text")
    if profile.user_text is UserText.CLIENT_CONTENT and text is not None:
        return {"clientContent": {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}}
    return message
