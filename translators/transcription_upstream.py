"""OpenAI transcription sessions, upstream side: a Gemini transcription model's frames → OpenAI events.

What the live transcription model sends (ai.google.dev live-api/live-transcribe; livekit-agents'
`gemini_stt.py` and coval-ai/benchmarks#552, both run against it): `interimInputTranscription`, a cumulative
snapshot of the utterance so far, resent in full; one `inputTranscription` with the whole utterance at its
end (older Live models stream it in pieces instead); `generationComplete` per utterance; neither `finished`
nor `turnComplete` reliably; no model turns. Each utterance becomes OpenAI's §3.8 sequence:
speech_started → speech_stopped → committed → conversation.item.added/done → transcription.delta →
transcription.completed (token usage when Gemini sent `usageMetadata`, else the audio's duration). With
manual turns the client's commit made the item already; only its transcript follows. Each utterance's
`usageMetadata` is also a `RecordUsage` (kind TRANSCRIPTION, named by the item id): spend rows, the key's
budget and /metrics count transcription as they count responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from translators.commands import Command, RecordUsage, UsageKind
from translators.resume import Retry
from translators.state import SessionState
from translators.transcription import switch_when_quiet
from translators.turns import UserPhase, UserTurn
from translators.upstream import UpstreamTranslator
from translators.usage import map_usage

Handler = Callable[["TranscriptionUpstream", Any], list[Command]]


class TranscriptionUpstream:
    """One transcription session's upstream → client direction."""

    def __init__(self, state: SessionState) -> None:
        self.state = state  # shared with the client side
        self._base = UpstreamTranslator(state)  # setupComplete, goAway, resumption and losses, as in a conversation
        self._interim = ""  # the latest interimInputTranscription snapshot of the open utterance
        self._final: list[str] = []  # inputTranscription text of the open utterance
        self._usage: dict[str, Any] | None = None  # usageMetadata that came with the utterance

    def feed(self, message: dict[str, Any]) -> list[Command]:
        if message.get("usageMetadata") is not None:
            self._usage = message["usageMetadata"]
        out: list[Command] = []
        for key, value in message.items():
            handler = _HANDLERS.get(key)
            if handler is not None:
                out += handler(self, value)
            elif key in _LIFECYCLE:
                out += self._base.feed({key: value}) + switch_when_quiet(self.state)
        if self._usage is not None and not self._hearing():
            out += self._record_stray_usage()
        return out

    def _hearing(self) -> bool:
        """An utterance is open: usage that comes now is its own, recorded when it ends."""
        turn = self.state.user_turn
        return turn is not None and turn.phase is not UserPhase.TRANSCRIBED

    def _record_stray_usage(self) -> list[Command]:
        """Usage Gemini sent outside any utterance (after its end, in a frame of its own): recorded at once under
        its own id, so it is neither lost nor billed to the next utterance."""
        meta, self._usage = self._usage, None
        assert meta is not None
        turn = self.state.user_turn
        usage_id = f"{turn.id}-usage" if turn is not None else self.state.ids.new("item")
        return [RecordUsage(usage_id, "completed", map_usage(meta), meta, "", "", UsageKind.TRANSCRIPTION)]

    def wakeup(self, token: int) -> list[Command]:
        return self._base.wakeup(token)

    def upstream_failed(self, error_type: str, code: str, message: str, close_code: int) -> list[Command]:
        return self._base.upstream_failed(error_type, code, message, close_code)

    def session_ended(self) -> list[Command]:
        """The session is over: usage Gemini sent that no utterance took yet is billed on its own."""
        out = self._record_stray_usage() if self._usage is not None else []
        return out + self._base.session_ended()

    def upstream_lost(
        self,
        error_type: str,
        code: str,
        message: str,
        close_code: int,
        retry: Retry,
        unsent: list[dict[str, Any]] | None = None,
    ) -> list[Command]:
        """A lost upstream: the utterance being heard is closed with what was heard so far, then the
        conversation's resume policy applies (a new upstream just listens again)."""
        out = self._utterance_ends("incomplete")
        if self._usage is not None:
            out += self._record_stray_usage()
        return out + self._base.upstream_lost(error_type, code, message, close_code, retry, unsent)

    # ---- Gemini's frames ---------------------------------------------------------------------------
    def _on_server_content(self, content: dict[str, Any]) -> list[Command]:
        out: list[Command] = []
        interim = (content.get("interimInputTranscription") or {}).get("text")
        if interim and interim.strip():
            out += self._utterance_starts()
            self._interim = interim.strip()
        final = content.get("inputTranscription") or {}
        if final.get("text"):
            out += self._utterance_starts()
            self._final.append(final["text"])
        ended = final.get("finished") or content.get("generationComplete") or content.get("turnComplete")
        if ended:
            out += self._utterance_ends()
        return out

    def _on_voice_activity(self, body: dict[str, Any]) -> list[Command]:
        return self._utterance_starts() if body.get("type") == "ACTIVITY_START" else []

    # ---- utterances --------------------------------------------------------------------------------
    def _utterance_starts(self) -> list[Command]:
        """speech_started for a new utterance (server VAD); in manual mode the client's commit makes the item."""
        state = self.state
        turn = state.user_turn
        if state.manual_activity() or (turn is not None and turn.phase is not UserPhase.TRANSCRIBED):
            return []
        state.user_turn = UserTurn(state, int(state.input_ms))
        return state.user_turn.speech_started()

    def _utterance_ends(self, status: str = "completed") -> list[Command]:
        """The utterance is final: its item (server VAD), its transcript as one delta, then `completed`, then its
        usage record (`status` incomplete when the upstream was lost mid-utterance)."""
        state = self.state
        turn = state.user_turn
        text = ("".join(self._final) or self._interim).strip()
        self._interim, self._final = "", []
        if turn is None or turn.phase is UserPhase.TRANSCRIBED:
            return []
        usage, self._usage = self._usage, None
        out: list[Command] = []
        if turn.phase is UserPhase.SPEAKING:
            state.buffer_ms = 0.0
            out += turn.commit(int(state.input_ms), detected=True)
        out += turn.transcript(text)
        out += turn.transcribed(_token_usage(usage) if usage is not None else None)
        meta = usage or {}
        out.append(RecordUsage(turn.id, status, map_usage(meta), meta, text, "", UsageKind.TRANSCRIPTION))
        return out + switch_when_quiet(state)


def _token_usage(meta: dict[str, Any]) -> dict[str, Any]:
    """Gemini's usage of one utterance as OpenAI's transcription token usage (§6)."""
    usage = map_usage(meta)
    details = usage["input_token_details"]
    return {
        "type": "tokens",
        "input_tokens": usage["input_tokens"],
        "output_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "input_token_details": {"text_tokens": details["text_tokens"], "audio_tokens": details["audio_tokens"]},
    }


_LIFECYCLE = frozenset({"setupComplete", "sessionResumptionUpdate", "goAway"})
_HANDLERS: dict[str, Handler] = {
    "serverContent": TranscriptionUpstream._on_server_content,
    "voiceActivity": TranscriptionUpstream._on_voice_activity,
}
