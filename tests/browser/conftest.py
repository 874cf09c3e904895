"""Browser fixtures: one Chromium for the whole test session on its own thread (`BrowserThread`), and the fake
microphone's WAV (speech the emulator's energy VAD hears, then silence).

Reusable by any browser test (the console, the Agents JS SDK bundle, seed 003, WebRTC): take `browser` and
call `browser.run(scenario)`, where `scenario(page)` drives a fresh page with Playwright's sync API; open the
gateway's own origin (http://127.0.0.1 is a secure context, so getUserMedia and AudioWorklet work).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.audio import silence, speech, wav
from tests.support.browser import BrowserThread, chromium_path, launch_flags
from tests.support.live import GatewayThread, HandshakeLog, LiveGateway

MIC_RATE = 48000
# What the fake microphone plays on each getUserMedia (then silence): 0.4 s quiet, 1.2 s voice, 1.4 s quiet.
MIC_PCM = silence(0.4, MIC_RATE) + speech(1.2, MIC_RATE) + silence(1.4, MIC_RATE)


def _unavailable(why: str) -> None:
    """Skip with one clear line; on CI (root, where `make test` installs chromium) it is a failure instead."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run on CI: {why}", pytrace=False)
    pytest.skip(f"no browser for the browser tests: {why}")


@pytest.fixture(scope="session")
def microphone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    path.write_bytes(wav(MIC_PCM, MIC_RATE))
    return path


@pytest.fixture(scope="session")
def browser(microphone_wav: Path) -> Iterator[BrowserThread]:
    """One Chromium for the session, with the fake microphone."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    thread = BrowserThread(executable, launch_flags(microphone_wav))
    try:
        thread.start()
    except Exception as exc:
        where = executable or "Playwright's own chromium"
        _unavailable(f"{where} did not start ({str(exc).strip().splitlines()[0]}); as root: apt-get install chromium")
    yield thread
    thread.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save screenshots for review (inside pytest's temporary directory)."""
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="session")
def web_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, HandshakeLog]]:
    """A gateway for browser tests (the default aliases, the test master key) and the log of every WebSocket
    handshake it received, to check on the gateway's side which credentials browsers presented."""
    thread = GatewayThread(tmp_path_factory.mktemp("web"))
    gateway = thread.start()
    yield gateway, thread.handshakes
    thread.stop()


def origin(gateway: LiveGateway) -> str:
    """The gateway's http origin: a secure context for pages (getUserMedia, AudioWorklet)."""
    return f"http://127.0.0.1:{gateway.port}"
