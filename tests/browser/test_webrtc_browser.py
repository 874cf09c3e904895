"""The OpenAI Agents JS SDK (`@openai/agents-realtime`, bundled with esbuild) in Chromium on its default
browser transport, WebRTC: an app page on its own origin posts its SDP offer to livegate's
`/v1/realtime/calls`, Chromium's fake microphone speaks a WAV, and the session completes a spoken turn (the
reply heard on the call's track) and a typed turn with a tool call, every server event accepted by the SDK's
own zod schemas. Runs in its own network namespace (tests/browser/webrtc_call.py) so ICE stays on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import chromium_path
from tests.support.bundle import bundle
from tests.support.rtc import silence, speech, write_wav

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(__file__).resolve().parent / "agents" / "webrtc_entry.mjs"
FINAL_TEXT = 'get_time returned {"output":"It is 12:34."}'  # the emulator reports the tool output it got
RUN_TIMEOUT = 120  # seconds for the whole namespace run; it takes ~10 s


def _unavailable(why: str) -> None:
    """Skip with one clear line; on CI (root, where `make test` installs chromium) it is a failure instead."""
    if os.environ.get("CI"):
        pytest.fail(f"the WebRTC browser test must run on CI: {why}", pytrace=False)
    pytest.skip(f"WebRTC browser test: {why}")


@pytest.fixture(scope="module")
def webrtc_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("webrtc-bundle") / "webrtc.js"
    bundle(ENTRY, out)
    return out


def run_call(bundle: Path, tmp_path: Path, mode: str) -> dict[str, Any]:
    """The scenario in a fresh network namespace with only loopback; its JSON result."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    if executable is None or not Path(executable).exists():
        _unavailable("no chromium (as root: apt-get install chromium)")
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        _unavailable("cannot make a network namespace (unshare -n)")
    mic = write_wav(tmp_path / "mic.wav", silence(0.4), speech(1.2), silence(8))
    command = ["unshare", "-n", sys.executable, "-m", "tests.browser.webrtc_call", str(bundle), str(mic), mode]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"scenario failed:\n{proc.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_agents_sdk_webrtc_voice_turn_and_tool_call(webrtc_bundle: Path, tmp_path: Path) -> None:
    """With an `ek_` secret and the SDK's default transport: a spoken turn then a tool call; the reply is heard
    on the call's track."""
    run = run_call(webrtc_bundle, tmp_path, "secret")
    kinds = [e["type"] for e in run["events"]]
    detail = f"{run['reason']} {run['errors']}\n{kinds}\n{run['console']}"
    assert run["completed"], detail
    assert run["errors"] == [] and run["ignored"] == [], detail
    assert run["callId"].startswith("rtc_") and run["key_was_secret"]
    assert kinds[0] == "session.created" and "error" not in kinds, kinds
    assert "response.output_audio.delta" not in kinds  # the audio travelled on the track
    assert kinds.count("output_audio_buffer.started") >= 2 and "output_audio_buffer.stopped" in kinds
    assert run["toolCalls"] == ["get_time"]
    history = run["history"]
    assert [(i["type"], i.get("role")) for i in history] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("function_call", None),
        ("message", "assistant"),
    ], history
    assert history[0]["content"][0]["transcript"] == "user speech 1"  # the fake microphone's speech
    assert history[1]["content"][0]["transcript"] == "You said: user speech 1"
    assert history[3]["name"] == "get_time" and history[3]["output"] == "It is 12:34."
    assert history[4]["content"][0]["transcript"] == FINAL_TEXT
    assert run["voicedPolls"] * 20 >= 200  # the browser heard the spoken reply (400 ms of voice) on the track
