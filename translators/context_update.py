"""Mid-session instructions and tools applied in place with Gemini's `contextUpdate` (issue #13).

google-genai's `LiveClientMessage.context_update` (`LiveClientContextUpdate`: `system_instruction`, `tools`
wrapped as `{"tools": [...]}`, an empty list clearing them) replaces those parts of the setup "in order with
the rest of the inputs". Google does not document which models take it, so the profile table says
(schemas/profiles.py `context_update`), and a model that refuses it (1007) is not asked again: the session
falls back to the reconnect path (a new upstream with the whole new setup) for this and later updates.
"""

from __future__ import annotations

from typing import Any

from translators.session_config import SessionConfig, build_setup, context_of
from translators.state import SessionState

_CONTEXT_KEYS = ("systemInstruction", "tools")


def context_update(state: SessionState, before: SessionConfig) -> dict[str, Any] | None:
    """The `contextUpdate` that turns `before`'s setup into the current one, or None when the change needs a
    new setup (anything beyond instructions and tools, or a model that does not take contextUpdate)."""
    if not state.profile.context_update or state.context_update_refused:
        return None
    old = build_setup(before, state.profile, state.model_resource)["setup"]
    new = build_setup(state.config, state.profile, state.model_resource)["setup"]
    if _without_context(old) != _without_context(new):
        return None
    instruction, tools = context_of(state.config, state.profile)
    update: dict[str, Any] = {}
    if old.get("systemInstruction") != new.get("systemInstruction"):
        if instruction is None:  # clearing the instruction has no documented contextUpdate form
            return None
        update["systemInstruction"] = instruction
    if old.get("tools") != new.get("tools"):
        update["tools"] = {"tools": tools}
    state.context_update_in_flight = True
    return {"contextUpdate": update}


def _without_context(setup: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in setup.items() if key not in _CONTEXT_KEYS}


def refused(state: SessionState, error_code: str) -> bool:
    """Gemini closed with 1007 while a contextUpdate was unconfirmed: take it as a refusal of contextUpdate,
    never send another, and let the caller resume (the new setup carries the update)."""
    if not state.context_update_in_flight or error_code != "upstream_invalid_argument":
        return False
    state.context_update_in_flight, state.context_update_refused = False, True
    return True
