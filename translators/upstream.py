"""Gemini Live server messages → OpenAI server events (sans-I/O).

`UpstreamTranslator.feed(message)` takes one decoded Gemini frame; every top-level key it sets is
handled (GEMINI_LIVE.md §4: one oneof key plus an optional `usageMetadata` sibling).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.profiles import UserText
from translators.commands import CloseClient, Command, PrepareUpstream, SendUpstream
from translators.context_update import refused
from translators.response import Mode, Response, bill_all_unbilled, bill_drained_turn, unclaimed_usage
from translators.resume import (
    BACKOFF_S,
    MAX_RESUME_ATTEMPTS,
    Retry,
    aborted_mid_call,
    at_turn_boundary,
    ready_to_switch,
    reconnect,
)
from translators.state import SessionState, UpstreamPhase
from translators.supersede import answerable_in_words, answers_lost_calls
from translators.tools import Call, CallStatus, arguments_json
from translators.turns import UserPhase, UserTurn

Handler = Callable[["UpstreamTranslator", Any], list[Command]]


class UpstreamTranslator:
    """One session's upstream → client direction."""

    def __init__(self, state: SessionState) -> None:
        self.state = state  # shared with the ClientTranslator
        self._usage: dict[str, Any] | None = None  # usageMetadata of the current turn, until response.done

    def feed(self, message: dict[str, Any]) -> list[Command]:
        usage = message.get("usageMetadata")
        if usage is not None:
            self._usage = usage
        out: list[Command] = []
        for key, value in message.items():
            handler = _HANDLERS.get(key)
            if handler is not None:
                out += handler(self, value)
        return out

    def upstream_failed(self, error_type: str, code: str, message: str, close_code: int) -> list[Command]:
        """Gemini is gone for good: fail the open response, say why, close the client (issue #2)."""
        state = self.state
        out: list[Command] = []
        if state.response is not None:
            error = {"type": error_type, "code": code, "message": message}
            metadata, self._usage = self._usage, None  # usage Gemini sent for it before the end
            out += state.response.finish("failed", metadata=metadata, error=error)
            state.response = None
        out += bill_all_unbilled(state) + self._unclaimed("failed")
        state.phase = UpstreamPhase.CLOSED
        out += state.emit.error(code, message, error_type=error_type)
        out.append(CloseClient(close_code, f"{error_type}.{code}"[:123]))
        return out

    def upstream_lost(
        self,
        error_type: str,
        code: str,
        message: str,
        close_code: int,
        retry: Retry,
        unsent: list[dict[str, Any]] | None = None,
    ) -> list[Command]:
        """The upstream went away: resume it behind the client's back when we can (issue #6), else fail.

        A response cut by the loss is closed out as failed; calls Gemini was waiting on are carried over
        (`_carry_turn_over`); audio sent meanwhile is queued. `unsent` are frames the gateway had queued for
        the lost connection: they go first on the new one, except answers to the lost connection's calls.
        A response that had not produced anything yet stays open for the answer to the re-asked turn.
        """
        state = self.state
        if retry is Retry.NO and (state.going_away or refused(state, code) or aborted_mid_call(state, code)):
            retry = Retry.RESUME  # a planned end, a refused contextUpdate the new setup carries, input crossing a call
        if retry is Retry.NO or not state.ever_ready or state.resume_attempts >= MAX_RESUME_ATTEMPTS:
            return self.upstream_failed(error_type, code, message, close_code)
        out: list[Command] = self._carry_turn_over()
        if state.response is not None and (state.response.started or state.turn_trigger is None):
            error = {"type": "server_error", "code": "upstream_interrupted", "message": _CUT}
            metadata, self._usage = self._usage, None
            out += state.response.finish("failed", metadata=metadata, error=error)
            state.response = None
        out += bill_all_unbilled(state) + self._unclaimed("failed")  # the lost link's turn, billed once
        unsent = [message for message in unsent or () if not answers_lost_calls(message, state)]
        state.pending_upstream = [*unsent, *state.take_held_audio(), *state.pending_upstream]
        state.drain_turns, state.activity_open = 0, False
        if retry is Retry.REPLAY:
            state.resumption_handle = None
        delay = BACKOFF_S[min(state.resume_attempts, len(BACKOFF_S) - 1)]
        state.resume_attempts += 1
        return out + reconnect(state, delay_s=delay)

    def session_ended(self) -> list[Command]:
        """The session is over: the records still waiting for Gemini's usage (cancelled responses whose turn
        never completed) and any usage no response took, so nothing Gemini reported goes unbilled."""
        return bill_all_unbilled(self.state) + self._unclaimed()

    def _unclaimed(self, status: str = "cancelled") -> list[Command]:
        """Usage Gemini sent that no response will take: billed on its own (translators/response.py)."""
        metadata, self._usage = self._usage, None
        return [unclaimed_usage(self.state, metadata, status)] if metadata is not None else []

    def _carry_turn_over(self) -> list[Command]:
        """What a new connection must hear of the turn in flight (issue #6, fault matrix B3/B4).

        2.x models take history mid-session: the turn so far (user text, the calls, any outputs) goes as
        clientContent, so calls stay answerable (their outputs then travel as functionResponse turns) and
        a tool's continuation is asked for again. 3.x models cannot: while a typed turn's calls are pending,
        they are cancelled and the text is asked again; a turn that cannot be asked again (spoken: its audio
        went to the lost connection; or answered already) keeps its calls answerable in words
        (translators/supersede.py `answerable_in_words`). Answers queued for the lost connection are never
        sent to the new one: the carried turn holds them."""
        state = self.state
        pending = state.calls_pending
        if state.profile.user_text is UserText.CLIENT_CONTENT and state.turn_history:
            state.calls_via_history = bool(pending)
            state.tool_outputs = [] if not pending else state.tool_outputs
            state.turn_trigger = {"clientContent": {"turns": state.turn_history, "turnComplete": not pending}}
            if state.tool_outputs:  # answered but not sent: the history ends at the calls, the answers follow
                state.turn_trigger = {"clientContent": {"turns": state.turn_history, "turnComplete": False}}
            return []
        if state.turn_trigger is None:
            answerable_in_words(state)
            return []
        for call in state.calls.values():
            if call.status is CallStatus.PENDING:
                state.settle(call, CallStatus.CANCELLED)
        state.tool_outputs = []
        return []

    def wakeup(self, token: int) -> list[Command]:
        """The Gemini session `token` reached `profile.fresh_session_after_s`: at the next turn boundary the
        gateway starts a fresh one, replaying the conversation, before the model's fixed deadline ends it
        (reported for 3.8 at 58:00; a spare socket is dialled meanwhile)."""
        if token != self.state.session_epoch:
            return []  # a session that has been replaced already
        self.state.fresh_session_due = True
        return [PrepareUpstream(), *self._at_boundary()]

    # ---- lifecycle -----------------------------------------------------------------------------
    def _on_setup_complete(self, body: dict[str, Any]) -> list[Command]:
        state = self.state
        state.phase = UpstreamPhase.READY
        state.ever_ready, state.going_away = True, False  # resume_attempts stays: it counts per turn
        queued, state.pending_upstream, state.pending_bytes = state.pending_upstream, [], 0
        return [SendUpstream(message) for message in queued]

    def _on_session_resumption_update(self, body: dict[str, Any]) -> list[Command]:
        state = self.state
        if body.get("resumable") and body.get("newHandle"):
            state.resumption_handle, state.handle_fresh = body["newHandle"], True
            return self._at_boundary()  # a switch may have been waiting for this handle
        state.handle_fresh = False
        return []

    def _on_go_away(self, body: dict[str, Any]) -> list[Command]:
        """The connection ends soon: move to a resumed one at the turn boundary (now, if idle)."""
        self.state.reconnect_pending = self.state.going_away = True
        return [PrepareUpstream(), *self._at_boundary()]

    # ---- content -------------------------------------------------------------------------------
    def _on_server_content(self, content: dict[str, Any]) -> list[Command]:
        state = self.state
        out: list[Command] = []
        complete = content.get("turnComplete")
        if "inputTranscription" in content:
            out += self._user_transcript(content["inputTranscription"])
        if content.get("interrupted") and not state.drain_turns:  # while draining, it is the dropped turn's
            out += self._interrupted(bool(complete))
        if complete:
            state.turn_trigger, state.turn_items, state.handle_fresh = None, [], False
            state.turn_history, state.turn_calls, state.calls_via_history = [], [], False
            state.context_update_in_flight = False  # a turn after it completed: the update was taken
            state.resume_attempts = 0  # a turn got through: the link works (a loop of cut turns ends, item 2)
        if state.drain_turns:
            if complete:
                state.drain_turns -= 1
                out += bill_drained_turn(state, self._usage)
                self._usage = None
                out += self._at_boundary()
            return out
        turn, transcript = content.get("modelTurn"), content.get("outputTranscription")
        response = state.response
        if turn or transcript:
            out += self._user_turn_ends(synthesize=response is None)
            if response is None:
                response = self._implicit_response()
                out += response.created()
            if turn:
                out += self._model_turn(response, turn)
            if transcript and not state.upstream_text and transcript.get("text"):
                out += response.text(transcript["text"])
        if complete:
            if response is not None:
                out += self._end(response, "completed", None)
            else:  # a turn no response shows (e.g. one that only made calls): its usage is its own
                out += self._unclaimed("completed")
            if state.user_turn is not None:
                out += state.user_turn.transcribed()
        return out

    def _on_tool_call(self, body: dict[str, Any]) -> list[Command]:
        """Each call becomes a function_call item; the response then ends, as OpenAI's does (§3.6).

        Gemini's turn stays open: the client's function_call_output and response.create become the
        toolResponse, and Gemini's continuation fills the response that create starts.
        """
        state = self.state
        calls = body.get("functionCalls") or []
        if state.drain_turns:  # the client cancelled this turn: answer Gemini so it is not left waiting
            refused = [_refusal(call) for call in calls]
            return [SendUpstream({"toolResponse": {"functionResponses": refused}})] if refused else []
        out = self._user_turn_ends(synthesize=state.response is None)
        response = state.response
        if response is None:
            response = self._implicit_response()
            out += response.created()
        for call in calls:
            gemini_id = call.get("id")
            call_id = gemini_id or state.ids.new("call")
            state.add_call(call_id, Call(name=call.get("name", ""), gemini_id=gemini_id))
            part = {"name": call.get("name", ""), "args": call.get("args") or {}}
            state.turn_history.append({"role": "model", "parts": [{"functionCall": {**part, "id": gemini_id}}]})
            state.turn_calls.append(call_id)
            out += response.function_call(call_id, call.get("name", ""), arguments_json(call.get("args")))
        return out + self._end(response, "completed", None)

    def _on_tool_call_cancellation(self, body: dict[str, Any]) -> list[Command]:
        """Cancelled calls refuse late outputs; outputs not yet sent are dropped (GEMINI_LIVE.md §4)."""
        state = self.state
        ids = set(body.get("ids") or ())
        for call in state.calls.values():
            if call.gemini_id in ids and call.status in (CallStatus.PENDING, CallStatus.ANSWERED):
                state.settle(call, CallStatus.CANCELLED)
        state.tool_outputs = [answer for answer in state.tool_outputs if answer.get("id") not in ids]
        return [SendUpstream(message) for message in state.take_held_audio()]

    def _on_voice_activity(self, body: dict[str, Any]) -> list[Command]:
        """Gemini's own VAD signals, where a model sends them (SDK 3.x, GEMINI_LIVE.md §4)."""
        if body.get("type") == "ACTIVITY_START":
            return self._user_turn_starts()
        if body.get("type") == "ACTIVITY_END":
            return self._user_turn_ends(synthesize=False)
        return []

    # ---- the user's side (server VAD: OPENAI_REALTIME.md §3.4, derived as GEMINI_LIVE.md §9.2 says) --
    def _user_turn_starts(self) -> list[Command]:
        """speech_started, once per user turn; a previous item's transcript is final by then."""
        state = self.state
        turn = state.user_turn
        if state.config.manual_turns or (turn is not None and turn.phase is UserPhase.SPEAKING):
            return []
        out: list[Command] = list(turn.transcribed()) if turn is not None else []
        state.user_turn = UserTurn(state, int(state.input_ms))
        return out + state.user_turn.speech_started()

    def _user_turn_ends(self, *, synthesize: bool) -> list[Command]:
        """speech_stopped + committed + the user item, when Gemini's reply shows the user has finished.

        With `synthesize`, audio that Gemini answered without any speech signal (no transcription, no
        voiceActivity) still becomes a user item, so every reply follows a committed user turn.
        """
        state = self.state
        turn = state.user_turn
        if turn is None and not (synthesize and state.buffer_ms > 0):
            return []  # nobody spoke: the common case, per model frame of a typed turn
        if state.config.manual_turns:
            return []
        out: list[Command] = []
        if turn is None or turn.phase is not UserPhase.SPEAKING:
            if not (synthesize and state.buffer_ms > 0):
                return []
            out = self._user_turn_starts()
            turn = state.user_turn
            assert turn is not None
        state.buffer_ms = 0.0
        return out + turn.commit(int(state.input_ms), detected=True)

    def _user_transcript(self, body: dict[str, Any]) -> list[Command]:
        state = self.state
        turn = state.user_turn
        out: list[Command] = []
        if turn is None or turn.phase is UserPhase.TRANSCRIBED:
            out = self._user_turn_starts()  # the transcript is the first sign of new speech
            turn = state.user_turn
            if turn is None:
                return out
        out += turn.transcript(body.get("text", ""))
        if body.get("finished"):
            out += turn.transcribed()
        return out

    def _interrupted(self, turn_complete: bool) -> list[Command]:
        """Barge-in: speech_started, then the open response is cancelled (§3.5 reason turn_detected)."""
        state = self.state
        out = self._user_turn_starts()
        response = state.response
        if response is not None:
            out += self._end(response, "cancelled", "turn_detected", bill_later=not turn_complete)
            if not turn_complete:
                state.drain_turns += 1  # the interrupted turn's turnComplete is still to come
        return out

    def _model_turn(self, response: Response, turn: dict[str, Any]) -> list[Command]:
        out: list[Command] = []
        for part in turn.get("parts", ()):
            if part.get("thought"):
                continue  # reasoning, not the answer (GEMINI_LIVE.md §9.8)
            if "inlineData" in part:
                out += response.audio(part["inlineData"]["data"])
            elif "text" in part and self.state.upstream_text:
                out += response.text(part["text"])
        return out

    def _implicit_response(self) -> Response:
        """A turn Gemini started on its own (server VAD): the client sees a response all the same."""
        state = self.state
        mode = Mode.AUDIO if "audio" in state.config.output_modalities else Mode.TEXT
        state.response = Response(state, mode)
        return state.response

    def _end(self, response: Response, status: str, reason: str | None, *, bill_later: bool = False) -> list[Command]:
        metadata, self._usage = self._usage, None
        self.state.response = None
        return list(response.finish(status, reason, metadata, bill_later=bill_later)) + self._at_boundary()

    def _at_boundary(self) -> list[Command]:
        """A reconnect that waited for the turn to end (reconfiguration, goAway) happens now."""
        state = self.state
        if state.fresh_session_due and at_turn_boundary(state):
            state.fresh_session_due, state.resumption_handle = False, None  # a new session: replayed, no handle
            return reconnect(state)
        if state.reconnect_pending and ready_to_switch(state):
            return reconnect(state)
        return []


_HANDLERS: dict[str, Handler] = {
    "setupComplete": UpstreamTranslator._on_setup_complete,
    "serverContent": UpstreamTranslator._on_server_content,
    "sessionResumptionUpdate": UpstreamTranslator._on_session_resumption_update,
    "goAway": UpstreamTranslator._on_go_away,
    "voiceActivity": UpstreamTranslator._on_voice_activity,
    "toolCall": UpstreamTranslator._on_tool_call,
    "toolCallCancellation": UpstreamTranslator._on_tool_call_cancellation,
}


def _refusal(call: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"name": call.get("name", ""), "response": {"error": "The user cancelled this response."}}
    if call.get("id"):
        answer["id"] = call["id"]
    return answer


_CUT = "The connection to Gemini was interrupted during this response; the session continues."
