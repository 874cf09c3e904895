"""ClientTranslator: setup merging, turn triggers per model, item store and error replies."""

from __future__ import annotations

from schemas.openai import Dialect
from tests.translators.harness import Playbook, events, placeholders, setups, types, upstream
from translators.commands import RecordUsage

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}


def test_session_created_is_first_and_dialect_shaped() -> None:
    """session.created goes out unprompted with the dialect's session shape."""
    ga = events(Playbook(Dialect.GA).start())[0]
    beta = events(Playbook(Dialect.BETA).start())[0]
    assert ga["type"] == beta["type"] == "session.created"
    assert ga["session"]["type"] == "realtime" and ga["session"]["audio"]["output"]["voice"] == "alloy"
    assert beta["session"]["modalities"] == ["audio", "text"] and beta["session"]["input_audio_format"] == "pcm16"


def test_updates_before_content_merge_into_one_setup() -> None:
    """Several session.updates are each answered, and land together in the one setup sent at first content."""
    play = Playbook(Dialect.GA)
    play.start()
    out = play.send({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})
    out += play.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"voice": "coral"}}, "max_output_tokens": 50},
        }
    )
    assert types(out) == ["session.updated", "session.updated"] and not setups(out)
    assert events(out)[1]["session"]["instructions"] == "Be brief."
    out = play.send({"type": "conversation.item.create", "item": USER})
    (setup,) = setups(out)
    body = setup["setup"]
    assert body["model"] == "models/gemini-2.5-flash-native-audio-preview-12-2025"
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}], "role": "user"}
    assert body["generationConfig"]["maxOutputTokens"] == 50
    assert body["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert body["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"] == "Kore"
    assert body["outputAudioTranscription"] == {} and body["sessionResumption"] == {}


def test_beta_update_maps_temperature_and_formats() -> None:
    """Beta flat fields (temperature, modalities, voice) reach the setup and echo back in beta shape."""
    play = Playbook(Dialect.BETA)
    play.start()
    (updated,) = events(
        play.send(
            {
                "type": "session.update",
                "session": {"temperature": 0.6, "modalities": ["text"], "voice": "Puck"},
            }
        )
    )
    assert updated["session"]["temperature"] == 0.6 and updated["session"]["modalities"] == ["text"]
    (setup,) = setups(play.send({"type": "conversation.item.create", "item": USER}))
    assert setup["setup"]["generationConfig"]["temperature"] == 0.6


def test_unknown_voice_is_an_error_before_setup() -> None:
    """An unknown voice gets an error naming the field; the session config is unchanged."""
    play = Playbook(Dialect.GA)
    play.start()
    out = play.send(
        {
            "type": "session.update",
            "event_id": "e1",
            "session": {"type": "realtime", "audio": {"output": {"voice": "nope"}}},
        }
    )
    (error,) = events(out)
    assert error["error"]["param"] == "session.audio.output.voice" and error["error"]["event_id"] == "e1"
    assert play.state.config.voice == "alloy"


def test_client_content_model_gets_turns_on_response_create() -> None:
    """On a 2.5 model, unsent items go as clientContent turns with turnComplete, queued until setupComplete."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    out = play.send({"type": "response.create"})
    assert types(out) == ["response.created"] and not upstream(out)
    flushed = upstream(play.connect())
    assert flushed == [
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hello"}]}], "turnComplete": True}}
    ]


def test_realtime_text_model_gets_realtime_input_text() -> None:
    """On a 3.1 model, the user's text goes as realtimeInput.text (GEMINI_LIVE.md §3.2)."""
    play = Playbook(Dialect.GA, model="gemini-3.1-flash-live-preview")
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.connect()
    assert upstream(play.send({"type": "response.create"})) == [{"realtimeInput": {"text": "hello"}}]


def test_realtime_text_model_without_input_is_an_error() -> None:
    """response.create with nothing new to answer on a 3.x model is refused with the client's event_id."""
    play = Playbook(Dialect.GA, model="gemini-3.1-flash-live-preview")
    play.start()
    (error,) = events(play.send({"type": "response.create", "event_id": "agents_py_response_create_1"}))
    assert error["error"]["code"] == "missing_input"
    assert error["error"]["event_id"] == "agents_py_response_create_1"
    assert play.state.response is None


def test_second_response_create_is_rejected() -> None:
    """A second response.create while one is active → conversation_already_has_active_response."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    (error,) = events(play.send({"type": "response.create", "event_id": "x"}))
    assert error["error"]["code"] == "conversation_already_has_active_response" and error["error"]["event_id"] == "x"


def test_cancel_closes_response_and_drops_rest_of_turn() -> None:
    """response.cancel ends the response as cancelled; Gemini's remaining output for that turn is dropped."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hel"}}})
    out = play.send({"type": "response.cancel"})
    done = events(out)[-1]
    assert done["type"] == "response.done" and done["response"]["status"] == "cancelled"
    assert done["response"]["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["response"]["output"][0]["status"] == "incomplete"
    assert not any(isinstance(c, RecordUsage) for c in out)  # billed once Gemini's turn reports its usage
    assert play.recv({"serverContent": {"outputTranscription": {"text": "lo"}}}) == []
    meta = {"promptTokenCount": 4, "responseTokenCount": 2, "totalTokenCount": 6}
    late = play.recv({"serverContent": {"turnComplete": True}, "usageMetadata": meta})
    (record,) = late  # nothing for the client: only the cancelled response's record, with the turn's usage
    assert isinstance(record, RecordUsage) and record.response_id == done["response"]["id"]
    assert record.status == "cancelled" and record.usage["total_tokens"] == 6 and record.metadata == meta
    assert (record.user_text, record.assistant_text) == ("hello", "Hel")
    (error,) = events(play.send({"type": "response.cancel"}))
    assert error["error"]["code"] == "response_cancel_not_active"


def test_item_order_retrieve_delete() -> None:
    """previous_item_id root/append/unknown, retrieve and delete, with the documented error codes."""
    play = Playbook(Dialect.GA)
    play.start()
    first = events(play.send({"type": "conversation.item.create", "item": {**USER, "id": "a"}}))[0]
    root = events(
        play.send({"type": "conversation.item.create", "previous_item_id": "root", "item": {**USER, "id": "b"}})
    )[0]
    assert first["previous_item_id"] is None and root["previous_item_id"] is None
    (bad,) = events(play.send({"type": "conversation.item.create", "previous_item_id": "zzz", "item": USER}))
    assert bad["error"]["param"] == "previous_item_id"
    (got,) = events(play.send({"type": "conversation.item.retrieve", "item_id": "a"}))
    assert got["item"]["content"] == [{"type": "input_text", "text": "hello"}]
    assert types(play.send({"type": "conversation.item.delete", "item_id": "a"})) == ["conversation.item.deleted"]
    (missing,) = events(play.send({"type": "conversation.item.retrieve", "item_id": "a"}))
    assert missing["error"]["code"] == "item_retrieve_invalid_item_id"
    (missing,) = events(play.send({"type": "conversation.item.delete", "item_id": "a"}))
    assert missing["error"]["code"] == "item_delete_invalid_item_id"


def test_live_session_update_reconnects_with_the_resumption_handle() -> None:
    """A setup-changing update mid-session dials a new upstream resumed by handle; others just apply."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.connect()
    play.recv({"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}})
    out = play.send({"type": "session.update", "session": {"type": "realtime", "instructions": "New"}})
    assert types(out) == ["session.updated"]
    (setup,) = setups(out)
    assert setup["setup"]["sessionResumption"] == {"handle": "h1"}
    assert setup["setup"]["systemInstruction"]["parts"][0]["text"] == "New"
    assert setups(play.send({"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}})) == []


def test_live_update_waits_for_the_handle_that_covers_the_last_turn() -> None:
    """After a turn the switch waits for Gemini's next handle (it follows turnComplete), so the resumed
    upstream remembers that turn too."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    play.recv({"serverContent": {"turnComplete": True}})
    assert setups(play.send({"type": "session.update", "session": {"type": "realtime", "instructions": "New"}})) == []
    (setup,) = setups(play.recv({"sessionResumptionUpdate": {"newHandle": "h2", "resumable": True}}))
    assert setup["setup"]["sessionResumption"] == {"handle": "h2"}


def test_live_update_waits_for_the_turn_boundary() -> None:
    """During a response the update is acknowledged at once and the reconnect happens at turnComplete."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    play.send({"type": "response.create"})
    play.connect()
    out = play.send({"type": "session.update", "session": {"type": "realtime", "audio": {"output": {"voice": "echo"}}}})
    assert types(out) == ["session.updated"] and not setups(out)
    assert setups(play.recv({"serverContent": {"turnComplete": True}})) == []
    (setup,) = setups(play.recv({"sessionResumptionUpdate": {"newHandle": "h3", "resumable": True}}))
    assert (
        setup["setup"]["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]["voiceName"]
        == "Charon"
    )


def test_audio_append_forwards_base64_untouched() -> None:
    """input_audio_buffer.append becomes realtimeInput.audio with the true rate, payload unchanged."""
    play = Playbook(Dialect.GA)
    play.start()
    first = play.send({"type": "input_audio_buffer.append", "audio": "AAEC"})
    assert len(setups(first)) == 1 and upstream(first) == []
    audio = {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=24000", "data": "AAEC"}}}
    assert upstream(play.connect()) == [audio]
    assert upstream(play.send({"type": "input_audio_buffer.append", "audio": "AAEC"})) == [audio]


def test_transcript_ids_are_consistent() -> None:
    """Every event of a response names the same response and item ids (checked through placeholders)."""
    play = Playbook(Dialect.GA)
    play.start()
    play.send({"type": "conversation.item.create", "item": USER})
    out = play.send({"type": "response.create"})
    play.connect()
    out += play.recv({"serverContent": {"outputTranscription": {"text": "Hi"}}})
    out += play.recv({"serverContent": {"turnComplete": True}})
    seq = placeholders(events(out))
    assert {e.get("response_id") for e in seq if "response_id" in e} == {"<resp:1>"}
    assert {e.get("item_id") for e in seq if "item_id" in e} == {seq[-1]["response"]["output"][0]["id"]}


def test_extended_thinking_models_get_a_level_and_non_blocking_tools() -> None:
    """gemini-3.8-live-extended-thinking requires a thinking level and NON_BLOCKING functions (§3.1)."""
    play = Playbook(Dialect.GA, model="gemini-3.8-live-extended-thinking")
    play.start()
    tool = {"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}
    play.send({"type": "session.update", "session": {"type": "realtime", "tools": [tool]}})
    play.send({"type": "conversation.item.create", "item": USER})
    (setup,) = setups(play.send({"type": "response.create"}))
    assert setup["setup"]["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "LOW"}
    assert setup["setup"]["tools"][0]["functionDeclarations"][0]["behavior"] == "NON_BLOCKING"
