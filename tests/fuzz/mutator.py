"""A seeded mutator of client frames: valid OpenAI Realtime events of both dialects, bent out of shape.

Every frame is deterministic in (seed, index). Most start as a valid event with its own `event_id` and get
one to three mutations (a field set to a value of another kind, deleted, added, a deep nesting, broken
base64, a `null`); a share are raw frames: not JSON, not an object, binary, nested past any parser's limit.
`session.close` is never sent (it would end the session the fuzz needs).
"""

from __future__ import annotations

import base64
import copy
import random
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.openai import Dialect

SILENCE_20MS = base64.b64encode(bytes(960)).decode()  # 20 ms of pcm16 24 kHz (silence: no VAD turn)
G711_20MS = base64.b64encode(bytes([0xFF]) * 160).decode()  # 20 ms of µ-law silence
TEXT_ITEM = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fuzz says hi"}]}
QUIET_TOOL = {  # a name no fuzz text contains: the emulator never calls it
    "type": "function",
    "name": "zq_never_called",
    "description": "d",
    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
}
AUDIO_FORMATS = ({"type": "audio/pcm", "rate": 24000}, {"type": "audio/pcmu"}, {"type": "audio/pcma"})

_GA_SESSIONS = (
    {"type": "realtime", "instructions": "be brief"},
    {"type": "realtime", "output_modalities": ["text"]},
    {"type": "realtime", "output_modalities": ["audio"], "audio": {"output": {"voice": "alloy", "speed": 1.0}}},
    {"type": "realtime", "audio": {"input": {"format": AUDIO_FORMATS[1]}, "output": {"format": AUDIO_FORMATS[2]}}},
    {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": None}}},
    {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.5}}}},
    {"type": "realtime", "audio": {"input": {"transcription": {"model": "whisper-1"}, "noise_reduction": None}}},
    {"type": "realtime", "tools": [QUIET_TOOL], "tool_choice": "auto"},
    {"type": "realtime", "tracing": {"workflow_name": "w", "metadata": {"a": 1}}, "max_output_tokens": 512},
    {"type": "realtime", "prompt": {"id": "p", "variables": {"k": "v"}}, "truncation": "auto"},
)
_BETA_SESSIONS = (
    {"instructions": "be brief", "temperature": 0.8},
    {"modalities": ["text"]},
    {"modalities": ["audio", "text"], "voice": "alloy"},
    {"input_audio_format": "g711_ulaw", "output_audio_format": "g711_alaw"},
    {"input_audio_format": "pcm16", "turn_detection": None},
    {"turn_detection": {"type": "server_vad", "silence_duration_ms": 500}},
    {"input_audio_transcription": {"model": "whisper-1"}},
    {"tools": [QUIET_TOOL], "tool_choice": "none"},
    {"max_response_output_tokens": "inf", "tracing": "auto"},
)


def base_events(dialect: Dialect) -> list[dict[str, Any]]:
    """Valid client events of `dialect` (no event_id yet): the seeds every mutation starts from."""
    sessions = _GA_SESSIONS if dialect is Dialect.GA else _BETA_SESSIONS
    events: list[dict[str, Any]] = [{"type": "session.update", "session": s} for s in sessions]
    events += [
        {"type": "input_audio_buffer.append", "audio": SILENCE_20MS},
        {"type": "input_audio_buffer.append", "audio": G711_20MS},
        {"type": "input_audio_buffer.commit"},
        {"type": "input_audio_buffer.clear"},
        {"type": "conversation.item.create", "item": TEXT_ITEM},
        {"type": "conversation.item.create", "item": {**TEXT_ITEM, "role": "system"}, "previous_item_id": "root"},
        {"type": "conversation.item.create", "item": {"type": "function_call_output", "call_id": "c1", "output": "{}"}},
        {"type": "conversation.item.retrieve", "item_id": "item_x"},
        {"type": "conversation.item.delete", "item_id": "item_x"},
        {"type": "conversation.item.truncate", "item_id": "item_x", "content_index": 0, "audio_end_ms": 10},
        {"type": "response.create"},
        {"type": "response.cancel"},
        {"type": "output_audio_buffer.clear"},
    ]
    if dialect is Dialect.GA:
        events += [
            {"type": "response.create", "response": {"output_modalities": ["text"], "metadata": {"k": "v"}}},
            {"type": "response.create", "response": {"conversation": "none", "instructions": "short"}},
            {"type": "response.create", "response": {"audio": {"output": {"voice": "alloy"}}}},
        ]
    else:
        events += [
            {"type": "response.create", "response": {"modalities": ["text"], "metadata": {"k": "v"}}},
            {"type": "transcription_session.update", "session": {"input_audio_format": "pcm16"}},
        ]
    return events


@dataclass(frozen=True)
class Frame:
    """One client frame: text or binary, and what it was made from (for reports and the corpus)."""

    data: str | bytes
    origin: str  # e.g. "mutated session.update: set session.tools=null"

    def to_json(self) -> dict[str, str]:
        if isinstance(self.data, bytes):
            return {"binary_b64": base64.b64encode(self.data).decode(), "origin": self.origin}
        return {"text": self.data, "origin": self.origin}

    @staticmethod
    def from_json(entry: dict[str, str]) -> Frame:
        if "binary_b64" in entry:
            return Frame(base64.b64decode(entry["binary_b64"]), entry.get("origin", "corpus"))
        return Frame(entry["text"], entry.get("origin", "corpus"))


def nested(depth: int, leaf: Any = 1, *, arrays: bool = False) -> Any:
    """A value nested `depth` levels (objects, or arrays)."""
    value = leaf
    for _ in range(depth):
        value = [value] if arrays else {"n": value}
    return value


def nested_text(depth: int) -> str:
    """JSON text nested `depth` levels, built as text (past what any serializer would write)."""
    return "[" * depth + "1" + "]" * depth


class Mutator:
    """Frame n of a run is `frame(n)`: the same for the same seed and dialect."""

    def __init__(self, seed: int, dialect: Dialect) -> None:
        self.seed = seed  # the run's seed
        self.dialect = dialect  # which dialect's events are mutated
        self._bases = base_events(dialect)  # valid events to start from

    def frame(self, index: int) -> Frame:
        rng = random.Random(f"{self.seed}:{self.dialect.value}:{index}")
        event_id = f"fz{index}"
        roll = rng.random()
        if roll < 0.08:
            return self._raw(rng, event_id)
        event = copy.deepcopy(rng.choice(self._bases))
        event["event_id"] = event_id
        if roll < 0.25:  # a valid event, so that the session really does things between the bad frames
            return Frame(orjson.dumps(event).decode(), f"valid {event['type']}")
        notes = [self._mutate(rng, event) for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        try:
            text = orjson.dumps(event).decode()
        except TypeError:  # nested past orjson's limit: written by hand
            text = _dumps_deep(event)
        return Frame(text, f"mutated {event.get('type')}: " + "; ".join(notes))

    # ---- raw frames ------------------------------------------------------------------------------
    def _raw(self, rng: random.Random, event_id: str) -> Frame:
        valid = orjson.dumps({"type": "response.create", "event_id": event_id}).decode()
        kind = rng.randrange(8)
        if kind == 0:
            return Frame(rng.randbytes(rng.randrange(0, 64)), "binary frame")
        if kind == 1:
            return Frame(valid[: rng.randrange(1, len(valid))], "cut short")
        if kind == 2:
            return Frame(rng.choice(("[]", "1", '"x"', "null", "true", "[{}]")), "JSON, not an object")
        if kind == 3:
            return Frame(nested_text(rng.choice((300, 1100, 5000))), "nested past the parser's limit")
        if kind == 4:
            return Frame("".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 40))), "noise")
        if kind == 5:
            return Frame("", "empty text frame")
        if kind == 6:
            return Frame(valid.replace("}", ',"extra":' + nested_text(400) + "}"), "deep tail after event_id")
        return Frame(valid + valid, "two events in one frame")

    # ---- mutations of a parsed event -------------------------------------------------------------
    def _mutate(self, rng: random.Random, event: dict[str, Any]) -> str:
        kind = rng.randrange(9)
        path = _random_path(rng, event)
        if kind == 0:
            value = _random_value(rng)
            _set(event, path, value)
            return f"set {_show(path)}={_brief(value)}"
        if kind == 1 and len(path) > 1 and path[-1] not in ("type",):
            _delete(event, path)
            return f"deleted {_show(path)}"
        if kind == 2:
            _set(event, path, None)
            return f"set {_show(path)}=null"
        if kind == 3:
            depth = rng.choice((20, 64, 65, 100, 256, 300, 900))
            _set(event, path, nested(depth, arrays=rng.random() < 0.3))
            return f"nested {_show(path)} {depth} deep"
        if kind == 4 and event.get("type") == "input_audio_buffer.append":
            event["audio"] = _bad_base64(rng)
            return f"audio={event['audio'][:12]!r}"
        if kind == 5:
            event["type"] = rng.choice([b["type"] for b in self._bases] + ["session.close.not", "", "x" * 300])
            return f"type={event['type'][:20]!r}"
        if kind == 6:
            event["event_id"] = rng.choice((None, 5, ["a"], {"x": 1}, "", "e" * 200, f"{event.get('event_id')}é"))
            return f"event_id={_brief(event['event_id'])}"
        if kind == 7:
            _set(event, (*path[:-1], rng.choice(("bogus", "audio", "tools", "session", "response", "item"))), {})
            return f"added a key near {_show(path)}"
        _set(event, path, "x" * rng.choice((0, 1, 200, 70_000)))
        return f"long string at {_show(path)}"


def _random_path(rng: random.Random, event: dict[str, Any]) -> tuple[Any, ...]:
    """A path to an existing key (or list index) of the event, or a new key beside one."""
    path: list[Any] = []
    node: Any = event
    while isinstance(node, dict | list) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = rng.choice(keys)
        path.append(key)
        node = node[key]
        if rng.random() < 0.35:
            break
    return tuple(path) or ("type",)


def _set(event: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    """Set the value at `path`, making objects on the way; a key into a list lands on one of its slots."""
    node: Any = event
    for key in path[:-1]:
        node = _child(node, key)
    last = path[-1]
    if isinstance(node, list):
        if node and isinstance(last, int):
            node[last % len(node)] = value
        else:
            node.append(value)
    else:
        node[last] = value


def _child(node: Any, key: Any) -> Any:
    if isinstance(node, list):
        if not node:
            node.append({})
        index = key % len(node) if isinstance(key, int) else 0
        if not isinstance(node[index], dict | list):
            node[index] = {}
        return node[index]
    child = node.get(key)
    if not isinstance(child, dict | list):
        child = node[key] = {}
    return child


def _delete(event: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


def _random_value(rng: random.Random) -> Any:
    return rng.choice(
        (
            None,
            0,
            -1,
            2**63,
            1.5,
            float("1e308"),
            True,
            "",
            "text",
            "é\u0000\ud7ff",
            [],
            [None],
            [1, "a"],
            {},
            {"type": "function"},
            {"type": "audio/pcm", "rate": 8000},
            ["audio", "text", "video"],
        )
    )


def _bad_base64(rng: random.Random) -> str:
    return rng.choice(
        (
            "AAA",  # unpadded: Gemini takes it
            "AAAAA",  # one char too many
            "AA=A",  # padding inside
            "A===",
            "!!!!",
            "AAAA\n",
            "____",  # URL-safe alphabet: Gemini takes it
            SILENCE_20MS[:-1],
            "é" * 8,
            "",
        )
    )


def _dumps_deep(event: dict[str, Any]) -> str:
    """JSON for an event nested past orjson's 255 levels (a recursive writer with a raised limit)."""
    import json
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return json.dumps(event, ensure_ascii=False)
    finally:
        sys.setrecursionlimit(limit)


def _show(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
