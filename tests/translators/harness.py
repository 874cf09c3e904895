"""Drive both translators of one session without sockets, and compare transcripts with id placeholders.

Modelled on mitmproxy's Playbook: inputs go in one at a time, every command that comes out is kept, and
generated ids are replaced by `<kind:N>` in order of first appearance, so a transcript checks that the
same id is reused where it must be.
"""

from __future__ import annotations

import re
from typing import Any

from schemas.openai import Dialect, validate_server_event
from schemas.profiles import ModelProfile, profile_for
from translators.commands import (
    CloseClient,
    Command,
    ConnectUpstream,
    RecordUsage,
    SendClient,
    SendUpstream,
)
from translators.context import SessionKind
from translators.ids import IdFactory
from translators.pair import translators_for
from translators.session_config import SessionConfig
from translators.state import SessionState
from translators.tools import CallStatus

_ID = re.compile(r"^(event|item|resp|sess|conv|call)_[0-9A-Za-z]+$")


class Playbook:
    """One session's two translators, plus everything they emitted."""

    def __init__(
        self,
        dialect: Dialect = Dialect.GA,
        model: str = "gemini-2.5-flash-native-audio-preview-12-2025",
        profile: ModelProfile | None = None,
        kind: SessionKind = SessionKind.REALTIME,
    ) -> None:
        self.state = SessionState(
            dialect=dialect,
            profile=profile or profile_for(model),
            model_resource=f"models/{model}",
            config=SessionConfig(model="gemini-live"),
            ids=IdFactory(seed=7),
            created_at=1_767_229_435,
            kind=kind,
        )
        self.client, self.upstream = translators_for(self.state)
        self.log: list[Command] = []

    def start(self) -> list[Command]:
        return self._keep(self.client.start())

    def send(self, event: dict[str, Any]) -> list[Command]:
        return self._keep(self.client.feed(event))

    def recv(self, message: dict[str, Any]) -> list[Command]:
        return self._keep(self.upstream.feed(message))

    def _keep(self, commands: list[Command]) -> list[Command]:
        for command in commands:
            if isinstance(command, SendClient):
                validate_server_event(command.event, self.state.dialect)
        # The counts kept as state changes (SessionState.settle, keep_media) agree with what they count, every step.
        pending = sum(call.status is CallStatus.PENDING for call in self.state.calls.values())
        assert self.state.pending_calls == pending, (self.state.pending_calls, pending)
        kept = sum(len(blob["data"]) for blobs in self.state.media.values() for blob in blobs)
        assert self.state.media_bytes == kept, (self.state.media_bytes, kept)
        self.log += commands
        return commands

    def connect(self, session_id: str | None = None) -> list[Command]:
        """The upstream answers the setup."""
        return self.recv({"setupComplete": {"sessionId": session_id} if session_id else {}})


def events(commands: list[Command]) -> list[dict[str, Any]]:
    return [c.event for c in commands if isinstance(c, SendClient)]


def types(commands: list[Command]) -> list[str]:
    return [c.event["type"] for c in commands if isinstance(c, SendClient)]


def upstream(commands: list[Command]) -> list[dict[str, Any]]:
    return [c.message for c in commands if isinstance(c, SendUpstream)]


def setups(commands: list[Command]) -> list[dict[str, Any]]:
    return [c.setup for c in commands if isinstance(c, ConnectUpstream)]


def records(commands: list[Command]) -> list[RecordUsage]:
    """The usage records (one per response, for spend), in order."""
    return [c for c in commands if isinstance(c, RecordUsage)]


def closes(commands: list[Command]) -> list[CloseClient]:
    return [c for c in commands if isinstance(c, CloseClient)]


def placeholders(value: Any, seen: dict[str, str] | None = None) -> Any:
    """Replace generated ids by `<kind:N>` placeholders, numbered by first appearance."""
    seen = {} if seen is None else seen
    if isinstance(value, dict):
        return {k: placeholders(v, seen) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholders(v, seen) for v in value]
    if isinstance(value, str) and _ID.match(value):
        if value not in seen:
            kind = value.split("_", 1)[0]
            seen[value] = f"<{kind}:{sum(1 for p in seen.values() if p.startswith('<' + kind + ':')) + 1}>"
        return seen[value]
    return value
