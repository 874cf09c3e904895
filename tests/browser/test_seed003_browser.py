"""Seed 003's JavaScript client (tests/fixtures/seed003/client.js, the seed's block byte for byte) in Chromium,
on an app page of its own origin, against `/api/gemini/ws`: only its URL changes (to carry an `ek_` secret the
app's server minted). It completes a typed turn and a spoken one (pcm16 16 kHz sent with its `sendAudio`)."""

from __future__ import annotations

from typing import Any

from openai import OpenAI

from tests.gateway.test_simple_protocol import seed_source
from tests.support.audio import silence, speech
from tests.support.browser import BrowserThread, wait_until
from tests.support.live import MASTER_KEY, HandshakeLog, LiveGateway

APP = "http://app.test/"  # the app's own page, served by the test (Playwright routing), not by the gateway
QUESTION = "What is the capital of France?"
TURN_TIMEOUT_S = 15.0  # a turn takes well under a second here


def said(lines: list[str]) -> str:
    """Everything the seed printed as `Gemini says: …` (console.log joins its arguments with a space)."""
    return "".join(line.removeprefix("Gemini says: ") for line in lines if line.startswith("Gemini says: "))


def test_seed_js_client_text_and_spoken_turns(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog]
) -> None:
    """The seed's page logs the connection, the gateway's `system` greeting, and each reply: one to
    `sendMessage(text)`, one to `sendAudio(blob)` with speech in it; no error is logged."""
    gateway, handshakes = web_gateway
    client = OpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)  # the app's server (sync client)
    secret = client.realtime.client_secrets.create(session={"type": "realtime", "model": "gemini-live"})
    script = seed_source("client.js", f"ws://127.0.0.1:{gateway.port}/api/gemini/ws?key={secret.value}")
    utterance = speech(0.6, 16000) + silence(0.8, 16000)

    def scenario(page: Any) -> list[str]:
        lines: list[str] = []
        page.on("console", lambda message: lines.append(message.text))
        page.route(APP, lambda route: route.fulfill(content_type="text/html", body="<!doctype html><title>app</title>"))
        page.goto(APP)
        page.add_script_tag(content=script)
        wait_until(page, lambda: "System: Connected to Gemini Live" in lines, TURN_TIMEOUT_S, "the system greeting")
        page.evaluate("text => sendMessage(text)", QUESTION)
        wait_until(page, lambda: said(lines) == f"You said: {QUESTION}", TURN_TIMEOUT_S, "the typed turn's reply")
        typed = len(lines)
        page.evaluate("bytes => sendAudio(new Blob([new Uint8Array(bytes)]))", list(utterance))
        wait_until(page, lambda: said(lines[typed:]) == "You said: user speech 1", TURN_TIMEOUT_S, "the spoken reply")
        return lines

    lines = browser.run(scenario)
    assert lines[:2] == ["Connected to Gemini Live", "System: Connected to Gemini Live"], lines
    assert not [line for line in lines if line.startswith("Error:")], lines
    (handshake,) = [h for h in handshakes.seen if h["path"] == "/api/gemini/ws" and secret.value in h["query"]]
    assert handshake["headers"]["origin"] == "http://app.test"
