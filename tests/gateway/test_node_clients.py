"""Node clients against a real gateway: the seed 001 `ws` script, and openai-node v7 (GA and beta, `ws` and native).

The scripts live in tests/node and use the repo's node_modules (`npm install`, done by `make test`).
openai-node always dials wss://, so its tests use the `tls_gateway` fixture and trust the test CA
through NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from schemas.openai import Dialect, validate_server_event
from tests.support.live import MASTER_KEY, LiveGateway

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
NODE = shutil.which("node")
USER_TEXT = "What is the capital of France?"
# The seed's response.create carries only per-response instructions: they travel to Gemini as a labelled
# turn, and the emulator echoes the turn it heard, which proves they arrived.
SEED_REPLY = "You said: [system] Please assist the user."
RUN_TIMEOUT = 15  # seconds for one node process, far above the ~0.5 s a run takes

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


@pytest.fixture(scope="module", autouse=True)
def _node_modules() -> None:
    missing = [p for p in ("openai", "ws") if not (ROOT / "node_modules" / p / "package.json").exists()]
    assert not missing, f"node_modules lacks {missing}: run `npm install` in {ROOT}"


def node_env(**extra: str) -> dict[str, str]:
    """The test process's environment without OPENAI_* (org/project/base URL would leak into the SDK)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(extra)
    return env


def check_event_ids(events: list[dict[str, Any]]) -> None:
    ids = [e.get("event_id") for e in events]
    assert all(isinstance(i, str) and i for i in ids), [
        e["type"] for e in events if not isinstance(e.get("event_id"), str)
    ]
    assert len(set(ids)) == len(ids), "server event ids repeat"


# ---- seed 001: the LiteLLM docs' `ws` script, unchanged apart from its URL -----------------------------

# The seed prints `console.log(JSON.parse(message))` (util.inspect, nested objects cut to `[Object]`) and
# never exits. The harness preloads this hook, which also appends each printed object as a JSON line to
# $LIVEGATE_CAPTURE and leaves stdout exactly as the script prints it; the script file runs unmodified.
CAPTURE_HOOK = """
const fs = require('fs');
const out = process.env.LIVEGATE_CAPTURE;
const log = console.log;
console.log = (...args) => {
  if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') {
    fs.appendFileSync(out, JSON.stringify(args[0]) + '\\n');
  }
  log(...args);
};
require(process.argv[1]);
"""


@dataclass
class SeedRun:
    events: list[dict[str, Any]]
    stdout: str
    stderr: str
    alive_after: bool  # the process (and so its socket: the seed has no other handle) outlived the turn


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def seed_settled(events: list[dict[str, Any]]) -> bool:
    """Both client frames answered: the `input_text` error, and the response.create's outcome."""
    codes = [e["error"].get("code") for e in events if e["type"] == "error"]
    kinds = [e["type"] for e in events]
    if "invalid_value" not in codes:
        return False
    if "response.created" in kinds:
        return "response.done" in kinds
    return any(code != "invalid_value" for code in codes)  # response.create refused with an error


def run_seed(gateway: LiveGateway, tmp_path: Path, alias: str, key: str = MASTER_KEY) -> SeedRun:
    capture, stdout_path, stderr_path = tmp_path / "events.jsonl", tmp_path / "stdout", tmp_path / "stderr"
    env = node_env(
        LIVEGATE_URL=f"{gateway.ws_base}/realtime?model={alias}",
        LITELLM_API_KEY=key,
        LIVEGATE_CAPTURE=str(capture),
    )
    assert NODE is not None
    with stdout_path.open("w") as out, stderr_path.open("w") as err:
        proc = subprocess.Popen(
            [NODE, "-e", CAPTURE_HOOK, str(NODE_DIR / "seed001.js")], cwd=NODE_DIR, env=env, stdout=out, stderr=err
        )
        try:
            deadline = time.monotonic() + 10
            while not seed_settled(read_jsonl(capture)) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # anything late (a close, a stray event) shows up now
            alive = proc.poll() is None
        finally:
            proc.kill()
            proc.wait(timeout=5)
    return SeedRun(read_jsonl(capture), stdout_path.read_text(), stderr_path.read_text(), alive)


@pytest.fixture(scope="module")
def seed_run(gateway: LiveGateway, tmp_path_factory: pytest.TempPathFactory) -> SeedRun:
    return run_seed(gateway, tmp_path_factory.mktemp("seed001"), "gemini-live-text")


SEED_URL_LINE = 'const url = "ws://0.0.0.0:4000/v1/realtime?model=vertex_gemini_live_text";'
SEED_SHA256 = "13dd56e5035cdf9e71bd81ca0fc590532f7e199cc6630bddb6c84eadc34fdf4a"  # the seed's `test.js` block


def test_seed001_script_is_the_seed_verbatim_but_for_its_url() -> None:
    """tests/node/seed001.js is seed 001's `test.js` (shared/seeds/001_027033f03ff0e7d2.txt), byte for
    byte, except that the URL line reads LIVEGATE_URL."""
    ours = (NODE_DIR / "seed001.js").read_text()
    assert ours.count("const url = process.env.LIVEGATE_URL;\n") == 1
    original = ours.replace("const url = process.env.LIVEGATE_URL;", SEED_URL_LINE)
    assert hashlib.sha256(original.encode()).hexdigest() == SEED_SHA256


def test_seed001_session_and_unknown_event_type(seed_run: SeedRun) -> None:
    """The seed connects with `api-key`, gets session.created first, an `invalid_value` error for its
    non-OpenAI `input_text` frame, and the session stays open afterwards."""
    events, stdout = seed_run.events, seed_run.stdout
    assert stdout.startswith("Connected to server.\n"), stdout[:200]
    assert "Error: " not in seed_run.stderr, seed_run.stderr
    assert events and events[0]["type"] == "session.created", [e["type"] for e in events]
    assert events[0]["session"]["model"] == "gemini-live-text"
    check_event_ids(events)
    for event in events:
        validate_server_event(event, Dialect.GA)
    # What the script printed is what the capture saw, in the same order.
    positions = [stdout.find(f"event_id: '{e['event_id']}'") for e in events]
    assert -1 not in positions and positions == sorted(positions), positions
    unknown = [e["error"] for e in events if e["type"] == "error" and e["error"].get("code") == "invalid_value"]
    assert len(unknown) == 1, events
    assert unknown[0]["type"] == "invalid_request_error" and unknown[0]["param"] == "type"
    assert unknown[0]["message"].startswith("Invalid value: 'input_text'. Supported values are: 'session.update'")
    assert unknown[0]["event_id"] is None  # the client frame had no event_id
    assert seed_run.alive_after, "the gateway closed the seed's session"


def test_seed001_wrong_key_is_refused(gateway: LiveGateway, tmp_path: Path) -> None:
    """The seed's `api-key` header is really checked: a wrong key gets `invalid_api_key` and the close,
    after which the seed (nothing else keeps it alive) exits by itself."""
    run = run_seed(gateway, tmp_path, "gemini-live-text", key="sk-not-the-master-key")
    assert [e["type"] for e in run.events] == ["error"], run.events
    assert run.events[0]["error"]["code"] == "invalid_api_key"
    assert not run.alive_after, "the gateway kept a session with a wrong key open"


def test_seed001_response_create_gets_a_full_response(seed_run: SeedRun) -> None:
    """The seed's `response.create` (beta-style `response.modalities` + `instructions`, no user text)
    is answered with a full text response carrying the emulator's greeting: livegate tolerates a GA
    client's beta-shaped payloads (OPENAI_REALTIME.md §1.4, "log and tolerate")."""
    events = seed_run.events
    other_errors = [e for e in events if e["type"] == "error" and e["error"].get("code") != "invalid_value"]
    assert other_errors == []
    turn = [e for e in events if e["type"] != "error"]
    kinds = [e["type"] for e in turn]
    assert kinds[0] == "session.created" and kinds[1] == "response.created", kinds
    assert kinds[-1] == "response.done", kinds
    text = "".join(e["delta"] for e in turn if e["type"] == "response.output_text.delta")
    assert text == SEED_REPLY
    assert "response.output_audio.delta" not in kinds
    done = turn[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == SEED_REPLY


# ---- openai-node v7 ------------------------------------------------------------------------------------


@dataclass
class NodeRun:
    events: list[dict[str, Any]]
    meta: dict[str, Any]
    stderr: str


@cache
def native_websocket_flags() -> tuple[str, ...]:
    """Node ≥ 22 has a global WebSocket; node 20 needs --experimental-websocket (20.10+)."""
    assert NODE is not None
    probe = "process.exit(typeof WebSocket === 'function' ? 0 : 1)"
    for flags in ((), ("--experimental-websocket",)):
        if subprocess.run([NODE, *flags, "-e", probe], capture_output=True, timeout=RUN_TIMEOUT).returncode == 0:
            return flags
    pytest.fail("this node has no global WebSocket, even with --experimental-websocket")


def run_sdk(script: str, transport: str, tls: tuple[LiveGateway, Path], alias: str) -> NodeRun:
    gateway, ca_file = tls
    assert NODE is not None
    flags = native_websocket_flags() if transport == "native" else ()
    env = node_env(
        LIVEGATE_BASE_URL=gateway.http_base,
        LIVEGATE_API_KEY=MASTER_KEY,
        LIVEGATE_MODEL=alias,
        LIVEGATE_USER_TEXT=USER_TEXT,
        NODE_EXTRA_CA_CERTS=str(ca_file),
    )
    proc = subprocess.run(
        [NODE, *flags, str(NODE_DIR / script), transport],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{proc.stderr}\nstdout:\n{proc.stdout[-2000:]}"
    metas = [line.split(" ", 1)[1] for line in proc.stderr.splitlines() if line.startswith("livegate-meta ")]
    assert len(metas) == 1, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return NodeRun(events, json.loads(metas[0]), proc.stderr)


def check_handshake(run: NodeRun, gateway: LiveGateway, alias: str, transport: str) -> None:
    # openai-node turns https://localhost:PORT/v1 into wss://…/v1/realtime?model=<alias>
    assert run.meta["url"] == f"wss://localhost:{gateway.port}/v1/realtime?model={alias}"
    # native: the key travels in sub-protocols and the gateway must pick `realtime`; `ws`: no sub-protocols
    assert run.meta["protocol"] == ("realtime" if transport == "native" else None)
    assert run.meta["close_code"] == 1000  # the client's close completed cleanly


@pytest.mark.parametrize(
    ("transport", "alias"),
    [
        ("ws", "gemini-live"),
        ("ws", "gemini-3.1-live"),
        ("ws", "gemini-live-text"),
        ("native", "gemini-live"),
    ],
)
def test_openai_node_ga_text_turn(tls_gateway: tuple[LiveGateway, Path], transport: str, alias: str) -> None:
    """openai/realtime/ws (Authorization header) and openai/realtime/websocket (key in sub-protocols)
    hold a GA text turn over wss with the golden event order."""
    run = run_sdk("openai_node_ga.mjs", transport, tls_gateway, alias)
    check_handshake(run, tls_gateway[0], alias, transport)
    events = run.events
    check_event_ids(events)
    for event in events:
        validate_server_event(event, Dialect.GA)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["session.created", "session.updated"], kinds
    assert events[0]["session"]["type"] == "realtime" and events[0]["session"]["model"] == alias
    assert events[1]["session"]["output_modalities"] == ["text"]
    assert kinds[2:5] == ["conversation.item.added", "conversation.item.done", "response.created"], kinds
    assert kinds[-3:] == ["conversation.item.done", "response.output_item.done", "response.done"], kinds
    assert kinds.count("response.done") == 1 and "error" not in kinds
    assert not [k for k in kinds if k.startswith("response.output_audio")], kinds
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == f"You said: {USER_TEXT}"
    assert next(e for e in events if e["type"] == "response.output_text.done")["text"] == text
    done = events[-1]["response"]
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == text
    response_ids = {e["response"]["id"] for e in events if e["type"] in ("response.created", "response.done")}
    assert len(response_ids) == 1


@pytest.mark.parametrize("transport", ["ws", "native"])
def test_openai_node_beta_text_turn(tls_gateway: tuple[LiveGateway, Path], transport: str) -> None:
    """openai/beta/realtime/ws (header `openai-beta: realtime=v1`) and openai/beta/realtime/websocket
    (sub-protocol `openai-beta.realtime-v1`) get the beta dialect: beta names, beta session shape."""
    alias = "gemini-live"
    run = run_sdk("openai_node_beta.mjs", transport, tls_gateway, alias)
    check_handshake(run, tls_gateway[0], alias, transport)
    events = run.events
    check_event_ids(events)
    for event in events:
        validate_server_event(event, Dialect.BETA)
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["session.created", "session.updated", "conversation.item.created", "response.created"], kinds
    assert "type" not in events[0]["session"] and events[0]["session"]["modalities"] == ["audio", "text"]
    assert events[1]["session"]["modalities"] == ["text"] and events[1]["session"]["instructions"] == "Be brief."
    assert kinds[-2:] == ["response.output_item.done", "response.done"], kinds
    ga_only = {"conversation.item.added", "conversation.item.done", "response.output_text.delta"}
    assert not ga_only & set(kinds), kinds
    assert kinds.count("response.done") == 1 and "error" not in kinds
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text == f"You said: {USER_TEXT}"
    assert next(e for e in events if e["type"] == "response.text.done")["text"] == text
    assert events[-1]["response"]["status"] == "completed"
