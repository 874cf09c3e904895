"""Fault-matrix plumbing: scripted emulators on one loop thread, a real-client conversation, comparisons.

Every wait is bounded (`RECV_TIMEOUT_S` while a response is open, `IDLE_S` otherwise), so a gateway that
hangs shows up as a failed or xfailed cell, never as a stuck suite. Both bounds are generous: every wait is
for an event the cell expects (a reply, an answer asked again, the close after an error), and returns as soon
as it comes, so only a hung gateway ever reaches them, not a slow one on a busy machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from gateway.emulator.server import ConnectionRecord, EmulatorServer
from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, LiveGateway

AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"  # Developer API; user text as clientContent
LIVE_31_MODEL = "gemini-3.1-flash-live-preview"  # Developer API; user text as realtimeInput.text
TEXT_MODEL = "gemini-2.0-flash-live-preview-04-09"  # Vertex only; real TEXT output (schemas/profiles.py)
RECV_TIMEOUT_S = 10.0  # the longest the client waits for the next event of an open response
# With no response open: how long the client waits for one (after response.create, or for an answer asked
# again after a failed response: that can take two jittered redials, up to 0.25 + 0.5 s, plus the dials).
IDLE_S = 10.0

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_OUTPUT = '{"temp_c": 21, "sky": "clear"}'

# Four typed turns; the second names get_weather, so the emulator calls it (README "Tools"), the client
# answers with a function_call_output + response.create, and the model goes on ("get_weather returned …").
CONVERSATION = ("Hello there", "Use get_weather for Paris", "Tell me more", "Thanks a lot")


class EmulatorFarm:
    """Many `EmulatorServer`s (one per `Script`) on one background loop: one thread for a whole module."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[EmulatorServer] = []

    def start(self) -> EmulatorFarm:
        self._thread.start()
        return self

    def add(self, script: Script) -> EmulatorServer:
        server = EmulatorServer(script=script, record_messages=True)
        asyncio.run_coroutine_threadsafe(server.start(), self._loop).result(10)
        self._servers.append(server)
        return server

    def stop(self) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(server.stop() for server in self._servers), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop_all(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def alias_for(server: EmulatorServer, alias: str, model: str = AUDIO_MODEL) -> dict[str, object]:
    """An alias whose api_base is the scripted emulator (gateway/upstream/endpoints.py `endpoint_for`)."""
    base = server.url.replace("ws://", "http://")
    if model == TEXT_MODEL:  # Vertex-only: express-mode key on a project, as bench/'s "text" preset does
        params = {"model": f"vertex_ai/{model}", "vertex_project": "faults", "vertex_location": "us-central1"}
    else:
        params = {"model": f"gemini/{model}"}
    return {"model_name": alias, "litellm_params": {**params, "api_key": "k", "api_base": base}}


def connections(server: EmulatorServer) -> list[ConnectionRecord]:
    """The emulator's connections that got a setup, in order. Left out: refused handshakes, and a dial the
    gateway dropped before its setup because the client had left (a goAway switch at the very end)."""
    return [record for record in server.connections if record.setup is not None]


# ---- the client -------------------------------------------------------------------------------------


@dataclass
class Transcript:
    """What one client saw: every server event as sent (raw JSON), and how the socket ended."""

    events: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None  # None: the client itself closed at the end of the conversation
    close_reason: str = ""
    timed_out: bool = False  # a response stayed open with nothing arriving: the client hung
    notes: list[str] = field(default_factory=list)  # turns that got no answer

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def responses(self) -> list[dict[str, Any]]:
        return [e["response"] for e in self.of_type("response.done")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of_type("error")


class Closed(Exception):
    """The gateway closed the client socket."""


class _Client:
    def __init__(self, connection: Any, transcript: Transcript, recv_timeout_s: float) -> None:
        self.connection = connection
        self.transcript = transcript
        self.recv_timeout_s = recv_timeout_s
        self.open: set[str] = set()  # responses created and not yet done

    def _closed(self, exc: ConnectionClosed) -> Closed:
        ws = self.connection._connection  # the SDK's websockets connection: how the gateway closed it
        self.transcript.close_code = ws.close_code
        self.transcript.close_reason = ws.close_reason or ""
        return Closed(str(exc))

    async def recv(self) -> dict[str, Any] | None:
        """The next event; None when nothing came within `IDLE_S` while no response was open."""
        timeout = self.recv_timeout_s if self.open else IDLE_S
        try:
            async with asyncio.timeout(timeout):
                raw = await self.connection.recv_bytes()
        except ConnectionClosed as exc:
            raise self._closed(exc) from exc
        except TimeoutError:
            if self.open:
                raise
            return None
        event = json.loads(raw)
        self.connection.parse_event(raw)  # the SDK itself must take every event
        self.transcript.events.append(event)
        if event["type"] == "response.created":
            self.open.add(event["response"]["id"])
        elif event["type"] == "response.done":
            self.open.discard(event["response"]["id"])
        return event

    async def until(self, kind: str) -> dict[str, Any]:
        while True:
            event = await self.recv()
            if event is None:
                raise TimeoutError(f"no {kind}")
            if event["type"] == kind:
                return event

    async def send(self, event: dict[str, Any]) -> None:
        try:
            await self.connection.send(event)
        except ConnectionClosed:  # what arrived before the close is still to be read
            while True:
                await self.recv()


def user_item(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def _session(modality: str, dialect: Dialect) -> dict[str, Any]:
    if dialect is Dialect.BETA:
        return {"modalities": ["text"] if modality == "text" else ["audio", "text"], "tools": [WEATHER_TOOL]}
    return {"type": "realtime", "output_modalities": [modality], "tools": [WEATHER_TOOL]}


def _calls(response: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in response.get("output") or () if item.get("type") == "function_call"]


async def _turn(client: _Client, text: str, tool_delay_s: float) -> None:
    """One user turn, until its answer: a completed response that is not a function call.

    Function calls (also ones the gateway's re-asked turn produces) are answered with `WEATHER_OUTPUT` and
    `response.create`. After a failed response, or an `error`, the client waits `IDLE_S` for more (the
    gateway may ask Gemini again and stream the answer as a new response) and then gives up on the turn.
    """
    await client.send({"type": "conversation.item.create", "item": user_item(text)})
    await client.send({"type": "response.create"})
    while True:
        event = await client.recv()
        if event is None:
            client.transcript.notes.append(f"{text!r}: no answer")
            return
        if event["type"] != "response.done":
            continue
        response = event["response"]
        calls = _calls(response)
        if response["status"] == "completed" and calls:
            await asyncio.sleep(tool_delay_s)  # the function runs
            for call in calls:
                output = {"type": "function_call_output", "call_id": call["call_id"], "output": WEATHER_OUTPUT}
                await client.send({"type": "conversation.item.create", "item": output})
            await client.send({"type": "response.create"})
        elif response["status"] == "completed":
            return


async def converse(
    gateway: LiveGateway,
    alias: str,
    *,
    modality: str = "text",
    dialect: Dialect = Dialect.GA,
    turns: tuple[str, ...] = CONVERSATION,
    pace_s: float = 0.0,
    tool_delay_s: float = 0.0,
    recv_timeout_s: float = RECV_TIMEOUT_S,
    overall_s: float = 45.0,
) -> Transcript:
    """Hold the scripted conversation with openai-python (GA or beta) and record what it saw.

    `pace_s`: the user's pause after each answer; `tool_delay_s`: how long the function takes.
    """
    transcript = Transcript()
    if dialect is Dialect.GA:
        manager = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base).realtime.connect(model=alias)
    else:
        client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base, websocket_base_url=gateway.ws_base)
        manager = client.beta.realtime.connect(model=alias)
    try:
        async with asyncio.timeout(overall_s), manager as connection:
            me = _Client(connection, transcript, recv_timeout_s)
            await me.until("session.created")
            await me.send({"type": "session.update", "session": _session(modality, dialect)})
            await me.until("session.updated")
            for text in turns:
                await _turn(me, text, tool_delay_s)
                await asyncio.sleep(pace_s)
    except Closed:
        pass
    except TimeoutError:
        transcript.timed_out = True
    return transcript


# ---- comparing --------------------------------------------------------------------------------------

_ID = re.compile(r"^(?:(item|resp|sess|conv|call|event)_[0-9A-Za-z]{6,}|(fc)_\d+)$")


def normalize(events: list[dict[str, Any]], alias: str = "") -> list[dict[str, Any]]:
    """Generated ids as placeholders by first appearance; `event_id`, clocks and the alias name dropped."""
    names: dict[str, str] = {}
    counts: Counter[str] = Counter()

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items() if k not in ("event_id", "expires_at")}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and value == alias:
            return "<alias>"
        if isinstance(value, str) and (match := _ID.match(value)):
            if value not in names:
                kind = match.group(1) or match.group(2)
                counts[kind] += 1
                names[value] = f"<{kind}{counts[kind]}>"
            return names[value]
        return value

    return [walk(event) for event in events]


def without_cut(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events less every failed response: its own events and its output items, with the links past
    them (`previous_item_id`) moved to the item before. What is left is what a fault-free run shows."""
    done = [e["response"] for e in events if e["type"] == "response.done"]
    failed = {response["id"] for response in done if response["status"] == "failed"}
    cut = {item["id"] for response in done if response["id"] in failed for item in response["output"]}
    before = {e["item"]["id"]: e.get("previous_item_id") for e in events
              if e["type"] == "conversation.item.added" and e["item"]["id"] in cut}
    kept = []
    for event in events:
        owner = event.get("response_id") or (event.get("response") or {}).get("id")
        item = (event.get("item") or {}).get("id")
        if owner in failed or item in cut:
            continue
        previous = event.get("previous_item_id")
        while previous in before:
            previous = before[previous]
        kept.append({**event, "previous_item_id": previous} if "previous_item_id" in event else event)
    return kept


def check_invariants(transcript: Transcript, dialect: Dialect = Dialect.GA) -> None:
    """No hang, every event valid, no duplicated event id, item or response.done."""
    assert not transcript.timed_out, f"the client waited in vain; last events: {transcript.events[-2:]}"
    for event in transcript.events:
        validate_server_event(event, dialect)
    event_ids = [e["event_id"] for e in transcript.events]
    assert len(event_ids) == len(set(event_ids)), "an event_id was sent twice"
    added = "conversation.item.added" if dialect is Dialect.GA else "conversation.item.created"
    for kind in (added, "response.output_item.added"):
        item_ids = [e["item"]["id"] for e in transcript.events if e["type"] == kind]
        assert len(item_ids) == len(set(item_ids)), f"{kind} twice: {Counter(item_ids).most_common(1)}"
    done = [e["response"]["id"] for e in transcript.events if e["type"] == "response.done"]
    assert len(done) == len(set(done)), "a response was done twice"
    created = [e["response"]["id"] for e in transcript.events if e["type"] == "response.created"]
    assert created == done, "each response.created has exactly one response.done, in order"


def first_difference(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> str:
    """Where two normalized streams part, for assertion messages."""
    for index, (a, b) in enumerate(zip(got, want, strict=False)):
        if a != b and a["type"] == b["type"] == "response.done":
            mine, theirs = a["response"], b["response"]
            if {**mine, "usage": None} == {**theirs, "usage": None}:  # Gemini's context is not the baseline's
                return f"event {index}: response.done usage {mine['usage']} != baseline {theirs['usage']}"
        if a != b:
            return f"event {index}: got {json.dumps(a)[:400]}\n  baseline {json.dumps(b)[:400]}"
    extra = (got if len(got) > len(want) else want)[min(len(got), len(want)) :][:2]
    return f"lengths differ: got {len(got)} events, baseline {len(want)}; first extra: {extra}"


def answers(transcript: Transcript) -> Iterator[str]:
    """The text (or transcript) of each completed message response, in order."""
    for response in transcript.responses:
        if response["status"] != "completed":
            continue
        for item in response.get("output") or ():
            for part in item.get("content") or ():
                if text := part.get("text") or part.get("transcript"):
                    yield text
