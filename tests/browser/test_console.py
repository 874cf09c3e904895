"""The console page (`GET /`) in Chromium with a fake microphone: the operator's key mints an `ek_` secret, a
spoken turn and a typed tool turn run with transcripts, played audio, time to first audio, tokens and cost on
the page; barge-in stops playback and truncates; no long-lived key reaches a WebSocket (seen gateway-side)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.browser.conftest import origin
from tests.support.browser import BrowserThread
from tests.support.live import DEFAULT_MODELS, MASTER_KEY, HandshakeLog, LiveGateway

ALIAS = "gemini-live"  # native-audio emulator model: audio replies with transcripts
TURN_TIMEOUT_MS = 20_000  # a turn takes about a second here (VAD needs 0.5 s of silence)
TOOL_TEXT = "What time is it? Use get_time."
LONG_TEXT = " ".join(["Please read this long sentence back to me slowly"] * 8)  # 8 s of reply

PAGE_STATE = """() => ({
  stats: window.livegateConsole,
  turns: [...document.querySelectorAll('#transcript .turn')].map((e) => ({
    role: e.className.replace('turn ', ''),
    who: e.querySelector('.who').textContent,
    text: e.querySelector('.text').textContent,
    meta: e.querySelector('.meta').textContent,
  })),
  shown: Object.fromEntries([...document.querySelectorAll('#stats dd')].map((e) => [e.id, e.textContent])),
  keyField: document.querySelector('#key').value,
})"""


def shows(role: str, predicate: str) -> str:
    """JS: some turn of this role whose text satisfies `predicate` (on `t`)."""
    texts = f"[...document.querySelectorAll('#transcript .turn.{role} .text')].map((e) => e.textContent)"
    return f"() => {texts}.some((t) => {predicate})"


def wait_for(page: Any, condition: str, what: str) -> None:
    """Wait for a JS condition; on timeout, fail with the page's own record of the session."""
    try:
        page.wait_for_function(condition, timeout=TURN_TIMEOUT_MS)
    except Exception as exc:
        state = page.evaluate(PAGE_STATE)
        stats = state["stats"]
        events = [e for e in stats["events"] if not e.endswith(".delta")]
        sent = [e for e in stats["sent"] if e != "input_audio_buffer.append"]
        raise AssertionError(
            f"waiting for {what}: {exc}\nturns: {state['turns']}\nserver events: {events}\nsent: {sent}\n"
            f"errors: {stats['errors']}"
        ) from None


def open_console(page: Any, gateway: LiveGateway) -> None:
    page.goto(f"{origin(gateway)}/")
    page.wait_for_function("() => document.querySelector('#alias').options.length > 0")
    page.fill("#key", MASTER_KEY)
    page.select_option("#alias", ALIAS)


def realtime_handshakes(log: HandshakeLog, since: int) -> list[dict[str, Any]]:
    return [h for h in log.seen[since:] if h["path"] == "/v1/realtime"]


def assert_no_long_lived_key(handshakes: list[dict[str, Any]]) -> None:
    """Gateway-side: each console socket presented an `ek_` secret in the sub-protocol, and the master key
    appears nowhere in what reached the WebSocket endpoint."""
    assert handshakes
    for handshake in handshakes:
        keys = [p for p in handshake["subprotocols"] if p.startswith("openai-insecure-api-key.")]
        assert len(keys) == 1 and keys[0].removeprefix("openai-insecure-api-key.").startswith("ek_"), handshake
        assert MASTER_KEY not in repr(handshake)
        assert "authorization" not in handshake["headers"]


def test_console_typed_tool_turn_then_spoken_turn(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog], screenshots: Path
) -> None:
    """A typed turn calls the demo tool, whose call and output are shown, and the answer reports the output;
    then Talk: the fake microphone's speech is transcribed and answered, and the reply is heard. The page
    shows time to first audio, tokens and a cost; its key field is empty again; a screenshot is saved.

    The tool turn comes first, before the microphone streams: with audio streaming, a frame already on its
    way when Gemini's toolCall arrives reaches Gemini during the pending call, which the emulator (like
    Gemini, GEMINI_LIVE.md §3.4) aborts with 1008. The gateway resumes that abort (tests/faults/
    test_live_mic.py covers it); this test keeps to what the console shows."""
    gateway, handshakes = web_gateway
    since = len(handshakes.seen)

    def scenario(page: Any) -> dict[str, Any]:
        open_console(page, gateway)
        page.click("#text-only")
        wait_for(page, "() => window.livegateConsole.events.includes('session.created')", "the session")
        page.fill("#text", TOOL_TEXT)
        page.press("#text", "Enter")
        wait_for(page, shows("assistant", "t.startsWith('get_time returned')"), "the answer after the tool call")
        heard = "() => window.livegateConsole.playedMs >= 350 && window.livegateConsole.queuedMs === 0"
        wait_for(page, heard, "the answer to be heard to the end")  # speaking now interrupts nothing
        page.click("#talk")
        wait_for(page, shows("user", "t === 'user speech 1'"), "the user's transcript")
        wait_for(page, shows("assistant", "t === 'You said: user speech 1'"), "the spoken turn's reply")
        wait_for(page, "() => window.livegateConsole.turns.length >= 2", "two timed turns")
        page.screenshot(path=str(screenshots / "console.png"), full_page=True)
        state: dict[str, Any] = page.evaluate(PAGE_STATE)
        return state

    state = browser.run(scenario)
    stats, turns, shown = state["stats"], state["turns"], state["shown"]
    texts = [(t["role"], t["text"]) for t in turns]
    assert texts[0] == ("user", TOOL_TEXT) and texts[1] == ("tool", "get_time({})"), texts
    (call,) = stats["toolCalls"]
    assert call["name"] == "get_time" and "time" in call["output"] and "timezone" in call["output"]
    assert turns[2]["who"] == "get_time returned" and '"time":' in turns[2]["text"], turns
    assert turns[3]["role"] == "assistant" and turns[3]["text"].startswith("get_time returned"), turns
    assert call["output"]["time"] in turns[3]["text"], turns
    assert texts[4:] == [("user", "user speech 1"), ("assistant", "You said: user speech 1")], texts
    assert turns[4]["meta"].endswith("s of speech") and turns[5]["meta"].startswith("first audio after"), turns

    # Audio played, time to first audio per turn, tokens and cost: in the page's numbers and on screen.
    assert stats["playedMs"] >= 350 and stats["errors"] == [], stats  # "You said: user speech 1": 0.4 s
    # One clock per user turn: the typed one from the send, across the tool call, to the answer's first audio;
    # the spoken one from the user's last voiced audio (the emulator waits for 0.5 s of silence).
    typed, spoken = stats["turns"]
    assert 450 < spoken["ttfaMs"] < 10_000 and 0 < typed["ttfaMs"] < 10_000, stats["turns"]
    assert stats["tokensIn"] > 0 and stats["tokensOut"] > 0 and stats["costUsd"] > 0, stats
    assert shown["stat-turns"] == "2" and re.fullmatch(r"\d+ ms", shown["stat-ttfa"]), shown
    assert shown["stat-tokens"] == f"{stats['tokensIn']} / {stats['tokensOut']}", shown
    assert re.fullmatch(r"\$0\.\d{4}", shown["stat-cost"]) and shown["stat-cost"] != "$0.0000", shown
    assert state["keyField"] == ""  # the key left the form; only the page's module variable holds it

    # Gateway-side: the only socket carried a client secret, never the master key.
    assert_no_long_lived_key(realtime_handshakes(handshakes, since))
    assert len(realtime_handshakes(handshakes, since)) == 1
    assert (screenshots / "console.png").stat().st_size > 10_000


def test_console_barge_in_stops_playback_and_truncates(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog], screenshots: Path
) -> None:
    """A long typed reply is playing when the user starts talking: playback stops at once, the page sends
    `conversation.item.truncate` with what was heard, the server confirms, and the spoken turn is answered."""
    gateway, handshakes = web_gateway
    since = len(handshakes.seen)

    def scenario(page: Any) -> dict[str, Any]:
        open_console(page, gateway)
        page.click("#text-only")
        page.wait_for_function("() => window.livegateConsole.events.includes('session.created')")
        page.fill("#text", LONG_TEXT)
        page.press("#text", "Enter")
        wait_for(page, "() => window.livegateConsole.playedMs >= 300", "the long reply to play")
        page.click("#talk")  # the microphone joins the session: 0.4 s later the user speaks over the reply
        wait_for(page, "() => window.livegateConsole.events.includes('conversation.item.truncated')", "the truncation")
        at_truncate: dict[str, Any] = page.evaluate(PAGE_STATE)
        wait_for(page, shows("assistant", "t === 'You said: user speech 1'"), "the spoken turn's reply")
        page.screenshot(path=str(screenshots / "console-barge-in.png"), full_page=True)
        return at_truncate

    state = browser.run(scenario)
    stats = state["stats"]
    (truncate,) = stats["truncates"]
    reply_ms = 100 * len(f"You said: {LONG_TEXT}".split())  # the emulator speaks 100 ms per word
    assert 300 <= truncate["audio_end_ms"] < reply_ms - 1000, (truncate, reply_ms)
    assert stats["queuedMs"] == 0 and stats["playedMs"] < reply_ms - 1000, stats
    replies = [t for t in state["turns"] if t["text"].startswith("You said: Please")]
    assert [t["role"] for t in replies] == ["assistant interrupted"], state["turns"]
    assert replies[0]["meta"] == f"heard {truncate['audio_end_ms'] / 1000:.1f} s", replies
    assert stats["errors"] == [], stats["errors"]
    assert_no_long_lived_key(realtime_handshakes(handshakes, since))


def test_console_is_served_at_root_and_console(web_gateway: tuple[LiveGateway, HandshakeLog]) -> None:
    """`/` and `/console/` serve the page, `/console` redirects there, its scripts are JavaScript, and the
    options list every alias (a price for known models) and say a key is required."""
    gateway, _ = web_gateway
    with httpx.Client(base_url=origin(gateway)) as http:
        root, console = http.get("/"), http.get("/console/")
        assert root.status_code == console.status_code == 200 and root.text == console.text
        assert "<title>livegate console</title>" in root.text
        assert http.get("/console").headers["location"] == "/console/"
        for script in ("console.js", "worklets.js"):
            response = http.get(f"/console/{script}")
            assert response.status_code == 200 and "javascript" in response.headers["content-type"]
        options = http.get("/console/options.json").json()
    conversational = [m["model_name"] for m in DEFAULT_MODELS if m["model_name"] != "gemini-transcribe"]
    assert [a["id"] for a in options["aliases"]] == conversational  # a transcription-only model is not offered
    assert options["aliases"][0]["price"]["output_audio"] > 0 and options["key_required"] is True
    assert "alloy" in options["voices"] and "Puck" in options["voices"]


def test_serve_says_where_to_talk_right_after_its_url(tmp_path: Path) -> None:
    """`livegate serve` (what `make run` runs): the line after the URL it serves says to open the console."""
    config = tmp_path / "config.yaml"  # a copy: its SQLite file is made beside it, not in the checkout
    config.write_text((Path(__file__).resolve().parents[2] / "examples" / "config.yaml").read_text())
    livegate = Path(sys.executable).parent / "livegate"
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(livegate), "serve", "--config", str(config), "--port", "0"], stdout=out, stderr=out
        )
        try:
            deadline = time.monotonic() + 30
            while "and talk" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    lines = log.read_text().splitlines()
    (at,) = [i for i, line in enumerate(lines) if " serving ws://" in line]
    url = re.search(r"serving ws://(127\.0\.0\.1:\d+)/v1/realtime", lines[at])
    assert url is not None and lines[at + 1].endswith(f"  open http://{url.group(1)}/ and talk"), lines
