"""A real Chromium for browser tests: Debian's `chromium` (or Playwright's own build, if one was installed)
driven by Playwright for Python, with a fake microphone fed from a WAV file.

`make test` installs Debian's chromium when run as root, otherwise tries Playwright's own download (its host
is unreachable on our build machines); with no browser the browser tests skip with one line. On CI (`CI`
set, root) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
LAUNCH_TIMEOUT = 60.0  # seconds; Chromium starts in ~1 s here
SCENARIO_TIMEOUT = 120.0  # one test's browser steps, far above what any takes

DEBIAN_CHROMIUM = "/usr/bin/chromium"

# Flags that work in this sandbox (root, no GPU, no outside network) and keep the browser quiet.
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # Test pages on made-up public origins (http://app.test) reach the gateway on loopback, which Chromium's
    # Local Network Access checks would block; a deployed gateway is not on the page's loopback.
    "--disable-features=LocalNetworkAccessChecks",
)


def chromium_path() -> str | None:
    """`LIVEGATE_CHROMIUM`, else Debian's chromium, else whatever `chromium` is on PATH; None: Playwright's own."""
    explicit = os.environ.get("LIVEGATE_CHROMIUM")
    if explicit:
        return explicit
    if Path(DEBIAN_CHROMIUM).exists():
        return DEBIAN_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_flags(microphone: Path | None = None) -> list[str]:
    """The base flags, plus a fake microphone (and auto-granted permission) playing `microphone` once."""
    flags = list(BASE_FLAGS)
    if microphone is not None:
        flags += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}%noloop",
        ]
    return flags


class BrowserThread:
    """One Chromium, owned by one worker thread: Playwright's sync API keeps an event loop marked as running in
    the thread that uses it, which would break the asyncio tests sharing the main thread. Tests hand it a
    scenario (a function of a fresh page) and get its result back; failures carry the page's console."""

    def __init__(self, executable: str | None, flags: list[str]) -> None:
        self._executable = executable  # None: Playwright's own chromium build
        self._flags = flags
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self._browser: Any = None

    def start(self) -> None:
        """Launch; raises the launch error (no browser) in the caller's thread."""
        self._pool.submit(self._launch).result(timeout=LAUNCH_TIMEOUT)

    def run(self, scenario: Callable[[Any], T], timeout: float = SCENARIO_TIMEOUT) -> T:
        """`scenario(page)` in a fresh browser context, closed afterwards."""
        return self._pool.submit(self._in_page, scenario).result(timeout=timeout)

    def stop(self) -> None:
        self._pool.submit(self._close).result(timeout=LAUNCH_TIMEOUT)
        self._pool.shutdown()

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=self._executable, args=self._flags)
        except Exception:
            self._playwright.stop()
            raise

    def _in_page(self, scenario: Callable[[Any], T]) -> T:
        context = self._browser.new_context()
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        try:
            return scenario(page)
        except BaseException as exc:
            exc.add_note("browser console:\n" + "\n".join(console[-60:]))
            raise
        finally:
            context.close()

    def _close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()


def wait_until(page: Any, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Let the page run (its events reach Python meanwhile) until `condition()` holds; else fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        page.wait_for_timeout(50)
