"""Drive one gateway session with fuzz frames and check what must hold (issue #16 "Keep them fixed").

For every frame the gateway's own edge validator says is bad, an `error` echoing its `event_id` must come
back (null when the frame has none that can be read); the session must stay open; after the frames it must
still serve a turn. Tracebacks are caught from the logging system (`TracebackCatcher`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from schemas.openai import Dialect, binary_frame_error, parse_client_event_tolerant
from tests.fuzz.mutator import Frame
from translators.errors import ClientProtocolError

QUIET_S = 0.4  # no event for this long: the session has settled
SETTLE_LIMIT_S = 20.0  # the longest a session may keep talking after the last frame
TURN_TIMEOUT_S = 15.0

_GA_RESET = {
    "type": "realtime",
    "output_modalities": ["text"],
    "tools": [],
    "audio": {
        "input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": {"type": "server_vad"}},
        "output": {"format": {"type": "audio/pcm", "rate": 24000}},
    },
}
_BETA_RESET = {
    "modalities": ["text"],
    "tools": [],
    "input_audio_format": "pcm16",
    "output_audio_format": "pcm16",
    "turn_detection": {"type": "server_vad"},
}


class TracebackCatcher(logging.Handler):
    """Every log record that carries a traceback or is logged at ERROR or above, from any thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def __enter__(self) -> TracebackCatcher:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" + (" (with traceback)" if r.exc_info else "") for r in self.records]


def expected_error(frame: Frame, dialect: Dialect) -> tuple[bool, str | None]:
    """(whether the edge refuses the frame, the event_id its error must echo): the gateway's own validator."""
    if isinstance(frame.data, bytes):
        return True, binary_frame_error().event_id
    try:
        parse_client_event_tolerant(frame.data, dialect)
    except ClientProtocolError as exc:
        return True, exc.event_id
    return False, None


@dataclass
class Report:
    """What one fuzzed session saw."""

    frames: int = 0
    refused: int = 0  # frames the edge refuses: each must get an error
    errors: Counter[str] = field(default_factory=Counter)  # error events by code
    missing: list[tuple[Frame, str | None]] = field(default_factory=list)  # refused frames with no error seen
    close_code: int | None = None  # set when the gateway closed the session
    close_reason: str = ""
    turn: str = ""  # "" when the final turn completed, else what went wrong
    failing: list[Frame] = field(default_factory=list)  # frames sent before a problem (for the corpus)

    @property
    def ok(self) -> bool:
        return not self.missing and self.close_code is None and not self.turn


class _Session:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()  # set on every event
        self.last = 0.0  # loop time of the last event
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for raw in self.ws:
                self.events.append(orjson.loads(raw))
                self.last = loop.time()
                self.changed.set()
        except ConnectionClosed:
            pass
        self.changed.set()

    @property
    def closed(self) -> bool:
        return self.reader.done()

    async def quiet(self) -> None:
        """Wait until no event has come for QUIET_S (bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT_S
        while not self.closed and loop.time() < deadline:
            await asyncio.sleep(QUIET_S / 4)
            if loop.time() - self.last >= QUIET_S:
                return

    async def wait_for(self, start: int, match: Any, timeout: float) -> dict[str, Any] | None:
        """The first event from index `start` on that `match`es, or None (closed or timed out)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.events):
                event = self.events[index]
                index += 1
                if match(event):
                    return event
            if self.closed or loop.time() >= deadline:
                return None
            self.changed.clear()
            if index < len(self.events):
                continue
            try:
                await asyncio.wait_for(self.changed.wait(), deadline - loop.time())
            except TimeoutError:
                return None


async def fuzz_session(
    url: str, headers: dict[str, str], dialect: Dialect, frames: Iterable[Frame], *, turn: bool = True
) -> Report:
    """Send `frames` on one new session, then (with `turn`) ask for a turn; report what held."""
    report = Report()
    expected: list[tuple[Frame, str | None]] = []
    if dialect is Dialect.BETA:
        headers = {**headers, "OpenAI-Beta": "realtime=v1"}
    async with connect(url, additional_headers=headers, max_size=None, open_timeout=20) as ws:
        session = _Session(ws)
        if await session.wait_for(0, lambda e: e["type"].endswith("session.created"), 10) is None:
            report.turn = "no session.created"
            return report
        try:
            for frame in frames:
                if session.closed:
                    break
                refused, event_id = expected_error(frame, dialect)
                report.refused += refused
                if refused:
                    expected.append((frame, event_id))
                await ws.send(frame.data)
                report.frames += 1
                report.failing.append(frame)
            await session.quiet()
            if turn and not session.closed:
                report.turn = await _one_turn(session, dialect)
        finally:
            closed_by_gateway = session.closed
            await ws.close()
            await session.reader
        if closed_by_gateway:
            report.close_code, report.close_reason = ws.close_code or 1006, ws.close_reason or ""
        _tally(report, session, expected)
    return report


def _tally(report: Report, session: _Session, expected: list[tuple[Frame, str | None]]) -> None:
    errors = [e["error"] for e in session.events if e.get("type") == "error"]
    report.errors = Counter(str(e.get("code")) for e in errors)
    echoed = Counter(e.get("event_id") for e in errors)
    for frame, event_id in expected:
        if echoed[event_id] > 0:
            echoed[event_id] -= 1
        else:
            report.missing.append((frame, event_id))


async def _one_turn(session: _Session, dialect: Dialect) -> str:
    """Reset the session to a plain text setup and ask one question; "" when a response completes."""
    reset = _GA_RESET if dialect is Dialect.GA else _BETA_RESET
    for event in (
        {"type": "response.cancel", "event_id": "turn-cancel"},
        {"type": "input_audio_buffer.clear", "event_id": "turn-clear"},
        {"type": "session.update", "event_id": "turn-update", "session": reset},
    ):
        await session.ws.send(orjson.dumps(event).decode())
    await session.quiet()
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ping"}]}
    for attempt in range(4):  # a turn the user's (fuzzed) audio started may cancel or hold up ours: ask again
        start = len(session.events)
        create_id = f"turn-create-{attempt}"
        create_item = {"type": "conversation.item.create", "event_id": f"turn-item-{attempt}", "item": item}
        await session.ws.send(orjson.dumps(create_item).decode())
        await session.ws.send(orjson.dumps({"type": "response.create", "event_id": create_id}).decode())

        def answered(event: dict[str, Any], create_id: str = create_id) -> bool:
            if event["type"] == "error":
                return event["error"].get("event_id") == create_id
            return event["type"] == "response.done"

        event = await session.wait_for(start, answered, TURN_TIMEOUT_S)
        if event is None:
            return "closed" if session.closed else "no response.done within the time limit"
        if event["type"] == "error":
            if event["error"].get("code") != "conversation_already_has_active_response":
                return f"response.create refused: {event['error'].get('message')}"
            await session.quiet()
            continue
        status = event["response"]["status"]
        if status == "completed":
            return ""
        if status != "cancelled":
            return f"the response ended {status}: {event['response'].get('status_details')}"
    return "no turn after four tries"
