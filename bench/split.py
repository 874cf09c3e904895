"""Where a gateway turn's CPU goes: the translation work alone, in-process, with no sockets.

Replays per frame what `gateway/session.py` does (parse the client event, feed the translator, serialize
each command; decode each Gemini frame, feed the translator, serialize) on the emulator's own reply frames
from its sans-I/O `behaviour`. The measured gateway CPU minus this is the WebSocket/ASGI/event-loop stack.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.audio import APPEND
from bench.procs import ALIAS
from bench.wire import ITEM_CREATE, RESPONSE_CREATE, SESSION, DirectPlan
from gateway.emulator.behaviour import Send, receive
from gateway.emulator.behaviour import SessionState as EmulatorState
from gateway.emulator.routes import parse_route
from schemas.openai import Dialect, parse_client_event
from translators.client import ClientTranslator
from translators.commands import SendClient, SendUpstream
from translators.ids import IdFactory
from translators.session_config import SessionConfig
from translators.state import SessionState
from translators.upstream import UpstreamTranslator


@dataclass
class Split:
    turn_us: float  # translation + JSON per text turn
    append_us: float  # translation + JSON per input_audio_buffer.append
    client_out: int  # events the gateway sends the client per turn (it receives 2)
    upstream_in: int  # Gemini frames the gateway receives per turn (it sends 1); the emulator sends as many

    def note(self, gateway_turn_ms: float, gateway_append_us: float) -> str:
        return (f"where the gateway's CPU goes: translation + JSON alone (in-process, no sockets, warm caches: a "
                f"lower bound) is {self.turn_us:.0f} us of {gateway_turn_ms * 1e3:.0f} us per text turn and "
                f"{self.append_us:.1f} us of {gateway_append_us:.0f} us per append; the rest is the socket stack: per "
                f"turn the gateway moves {3 + self.client_out + self.upstream_in} WebSocket messages "
                f"(client 2 in / {self.client_out} out, Gemini 1 out / {self.upstream_in} in), "
                f"the emulator {1 + self.upstream_in}")


class _Replay:
    def __init__(self, plan: DirectPlan) -> None:
        state = SessionState(dialect=Dialect.GA, profile=plan.profile, model_resource=plan.endpoint.model_resource,
                             config=SessionConfig(model=ALIAS), ids=IdFactory(), created_at=int(time.time()))
        self.client, self.upstream = ClientTranslator(state), UpstreamTranslator(state)
        route = parse_route(urlsplit(plan.endpoint.url).path)
        assert route is not None, plan.endpoint.url
        emulator = EmulatorState(route)
        self.setup_complete = [orjson.dumps(a.message) for a in receive(emulator, plan.setup) if isinstance(a, Send)]
        self.reply = [orjson.dumps(a.message) for a in receive(emulator, plan.trigger) if isinstance(a, Send)]
        self._serve(self.client.start())
        self.from_client(orjson.dumps({"type": "session.update", "session": SESSION}).decode())

    @staticmethod
    def _serve(commands: list[Any]) -> int:
        """Serialize as the session does; the number of client events."""
        sent = 0
        for command in commands:
            if isinstance(command, SendClient):
                orjson.dumps(command.event).decode()
                sent += 1
            elif isinstance(command, SendUpstream):
                orjson.dumps(command.message)
        return sent

    def from_client(self, raw: str) -> int:
        return self._serve(self.client.feed(parse_client_event(raw, Dialect.GA)))

    def turn(self, first: bool = False) -> int:
        sent = self.from_client(ITEM_CREATE) + self.from_client(RESPONSE_CREATE)
        for raw in (self.setup_complete if first else []) + self.reply:
            sent += self._serve(self.upstream.feed(orjson.loads(raw)))
        return sent


def _best_us(step: Any, count: int, repeats: int = 3) -> float:
    """Best of `repeats` runs of `count` calls, in microseconds per call (timeit's rule: the least noisy)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(count):
            step()
        best = min(best, (time.perf_counter() - start) / count)
    return best * 1e6


def measure(plan: DirectPlan, turns: int, appends: int) -> Split:
    replay = _Replay(plan)
    replay.turn(first=True)
    client_out = replay.turn()
    turn_us = _best_us(replay.turn, turns)
    append_us = _best_us(lambda: replay.from_client(APPEND), appends)
    return Split(turn_us, append_us, client_out, len(replay.reply))
