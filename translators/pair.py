"""A session's two translators, chosen by its kind: a conversation, or transcription only (issue #13)."""

from __future__ import annotations

from translators.client import ClientTranslator
from translators.context import SessionKind
from translators.state import SessionState
from translators.transcription import TranscriptionClient
from translators.transcription_upstream import TranscriptionUpstream
from translators.upstream import UpstreamTranslator

ClientSide = ClientTranslator | TranscriptionClient
UpstreamSide = UpstreamTranslator | TranscriptionUpstream


def translators_for(state: SessionState) -> tuple[ClientSide, UpstreamSide]:
    if state.kind is SessionKind.TRANSCRIPTION:
        return TranscriptionClient(state), TranscriptionUpstream(state)
    return ClientTranslator(state), UpstreamTranslator(state)
