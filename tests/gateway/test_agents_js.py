"""The OpenAI Agents JS SDK (`@openai/agents-realtime`) against a real gateway: one tool-calling turn.

tests/node/agents_realtime.mjs runs a RealtimeAgent with a `get_weather({city})` function tool in a
RealtimeSession on the `websocket` transport (Node `ws`, `Authorization` header), connected with an
explicit `url` (used verbatim; the model travels in `session.update`, OPENAI_REALTIME.md §1.5). The SDK
parses every server event with zod and silently ignores the ones that fail (§8.2), so the test relies on
what the session itself did with them — it ran the tool, sent the output back, and built its `history`
— and the script re-validates each server event against the SDK's own schema to name any it dropped.
The scripts use the repo's node_modules (`npm install`, done by `make test`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import MASTER_KEY, LiveGateway

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
NODE = shutil.which("node")
USER_TEXT = "Please use get_weather for Paris."
# The emulator calls a declared function named in the user text with each required string parameter
# set to that text, and after the tool output (a plain string arrives as {"output": …}) reports it.
FINAL_TEXT = 'get_weather returned {"output":"sunny"}'
RUN_TIMEOUT = 20  # seconds for one node process; the script gives up by itself after 10 s, a run takes ~1 s

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


@pytest.fixture(scope="module", autouse=True)
def _node_modules() -> None:
    packages = ("@openai/agents-realtime", "zod", "ws")
    missing = [p for p in packages if not (ROOT / "node_modules" / p / "package.json").exists()]
    assert not missing, f"node_modules lacks {missing}: run `npm install` in {ROOT}"


@dataclass
class AgentsRun:
    lines: list[dict[str, Any]]
    stderr: str

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["kind"] == kind]

    @property
    def server_events(self) -> list[dict[str, Any]]:
        return [line["event"] for line in self.of("transport_event")]

    @property
    def summary(self) -> dict[str, Any]:
        summaries = self.of("summary")
        assert len(summaries) == 1, self.describe()
        return summaries[0]

    @property
    def history(self) -> list[dict[str, Any]]:
        (history,) = self.of("history")
        return history["items"]

    def describe(self) -> str:
        """Every frame both ways, for failure messages."""
        rows = []
        for line in self.lines:
            if line["kind"] == "transport_event":
                flag = "" if line["understood"] else f"  NOT UNDERSTOOD: {json.dumps(line['issues'])[:600]}"
                rows.append(f"S {json.dumps(line['event'])[:400]}{flag}")
            elif line["kind"] == "client_event":
                rows.append(f"C {json.dumps(line['event'])[:400]}")
            else:
                rows.append(f"- {json.dumps(line)[:600]}")
        return "\n".join(rows) + f"\nstderr:\n{self.stderr[-2000:]}"


def run_agents(gateway: LiveGateway, alias: str, modality: str) -> AgentsRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(
        LIVEGATE_URL=f"{gateway.ws_base}/realtime?model={alias}",
        LIVEGATE_API_KEY=MASTER_KEY,
        LIVEGATE_MODEL=alias,
        LIVEGATE_USER_TEXT=USER_TEXT,
        LIVEGATE_MODALITY=modality,
    )
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(NODE_DIR / "agents_realtime.mjs")],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstderr:\n{proc.stderr}\nstdout:\n{proc.stdout[-3000:]}"
    return AgentsRun([json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr)


def message_text(item: dict[str, Any]) -> str:
    return "".join(part.get("text") or part.get("transcript") or "" for part in item["content"])


@pytest.mark.parametrize(
    ("alias", "modality"),
    [("gemini-live", "text"), ("gemini-3.1-live", "text"), ("gemini-live", "audio")],
)
def test_agents_realtime_function_tool_turn(gateway: LiveGateway, alias: str, modality: str) -> None:
    """The SDK understands every server event, runs `get_weather` once from the completed function-call
    item, sends its output back, and ends with the emulator's report of that output in its history."""
    run = run_agents(gateway, alias, modality)
    frames = run.describe()
    assert run.summary["completed"], f"{run.summary['reason']}\n{frames}"

    # Nothing was dropped by the SDK's zod parse, and the session reported no error.
    ignored = [line for line in run.of("transport_event") if not line["understood"]]
    assert ignored == [], frames
    assert run.of("error") == [], frames
    kinds = [e["type"] for e in run.server_events]
    assert "error" not in kinds and kinds[0] == "session.created", frames
    assert kinds.count("response.done") == 2, frames  # the function call, then the answer

    # The SDK sent the model in session.update (the URL carried it too) and declared the tool. Its other
    # session.update ({tracing: "auto"}, on session.created) may go out first: the two race in the SDK.
    sent = [line["event"] for line in run.of("client_event")]
    updates = [e["session"] for e in sent if e["type"] == "session.update"]
    (full,) = [u for u in updates if "tools" in u]
    assert full["model"] == alias and [t["name"] for t in full["tools"]] == ["get_weather"]
    assert [u for u in updates if u is not full] == [{"type": "realtime", "tracing": "auto"}]

    # The tool ran exactly once, with the emulator's arguments, and its output went back to the server.
    assert [line["args"] for line in run.of("tool_call")] == [{"city": USER_TEXT}], frames
    assert [line["result"] for line in run.of("tool_end")] == ["sunny"], frames
    items = [e["item"] for e in sent if e["type"] == "conversation.item.create"]
    assert [i["output"] for i in items if i["type"] == "function_call_output"] == ["sunny"], frames

    # The session's own end-of-turn text and history.
    assert run.of("agent_end")[-1]["text"] == FINAL_TEXT, frames
    history = run.history
    assert [(i["type"], i.get("role")) for i in history] == [
        ("message", "user"),
        ("function_call", None),
        ("message", "assistant"),
    ], history
    user, call, answer = history
    assert user["content"] == [{"type": "input_text", "text": USER_TEXT}]
    assert call["name"] == "get_weather" and call["status"] == "completed"
    assert json.loads(call["arguments"]) == {"city": USER_TEXT} and call["output"] == "sunny"
    done_items = [e["item"] for e in run.server_events if e["type"] == "response.output_item.done"]
    assert call["itemId"] == done_items[0]["id"] and call["status"] == done_items[0]["status"]
    assert answer["status"] == "completed" and message_text(answer) == FINAL_TEXT
    part_type = "output_text" if modality == "text" else "output_audio"
    assert [p["type"] for p in answer["content"]] == [part_type], answer

    if modality == "audio":
        # The transport decoded the audio deltas (an unparsed output_audio.delta is never played, §8.2).
        deltas = kinds.count("response.output_audio.delta")
        assert deltas > 0 and run.summary["audio_chunks"] == deltas, frames
    else:
        assert run.summary["audio_chunks"] == 0
        assert not [k for k in kinds if k.startswith("response.output_audio")], kinds
