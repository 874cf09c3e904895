"""The OpenAI Agents JS SDK (`@openai/agents-realtime`, bundled with esbuild) in Chromium, on an app page of its
own origin: connected with an `ek_` client secret the app's server minted, over the WebSocket transport and
without `useInsecureApiKey`, it runs a text turn with a tool call. The same page with the long-lived key is
refused by the SDK itself (its browser check), so the secret is what made it work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from tests.support.browser import BrowserThread
from tests.support.bundle import bundle
from tests.support.live import MASTER_KEY, HandshakeLog, LiveGateway

ENTRY = Path(__file__).resolve().parent / "agents" / "entry.mjs"
APP = "http://app.test/"
USER_TEXT = "What is the time? Please call get_time."
FINAL_TEXT = 'get_time returned {"output":"It is 12:34."}'  # the emulator reports the tool output it got


@pytest.fixture(scope="module")
def agents_bundle(tmp_path_factory: pytest.TempPathFactory) -> str:
    return bundle(ENTRY, tmp_path_factory.mktemp("agents") / "agents.js")


def run_page(browser: BrowserThread, script: str, options: dict[str, Any]) -> dict[str, Any]:
    def scenario(page: Any) -> dict[str, Any]:
        page.route(APP, lambda route: route.fulfill(content_type="text/html", body="<!doctype html><title>app</title>"))
        page.goto(APP)
        page.add_script_tag(content=script)
        result: dict[str, Any] = page.evaluate("options => window.runAgent(options)", options)
        return result

    return browser.run(scenario)


def test_agents_sdk_in_the_browser_with_a_client_secret(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog], agents_bundle: str
) -> None:
    """Text turn + tool call; every server event passes the SDK's own schemas; the socket carried the secret."""
    gateway, handshakes = web_gateway
    since = len(handshakes.seen)
    client = OpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)  # the app's server (sync client)
    secret = client.realtime.client_secrets.create(session={"type": "realtime", "model": "gemini-live"})
    url = f"ws://127.0.0.1:{gateway.port}/v1/realtime"  # no ?model=: the secret names it
    run = run_page(browser, agents_bundle, {"url": url, "apiKey": secret.value, "text": USER_TEXT})
    frames = json.dumps(run["events"])[:4000]
    assert run["completed"], f"{run['reason']} {run['errors']}\n{frames}"
    assert run["errors"] == [] and run["ignored"] == [], (run["errors"], run["ignored"])
    kinds = [e["type"] for e in run["events"]]
    assert kinds[0] == "session.created" and kinds.count("response.done") == 2 and "error" not in kinds, kinds
    assert run["toolCalls"] == ["get_time"]
    history = run["history"]
    assert [(i["type"], i.get("role")) for i in history] == [
        ("message", "user"),
        ("function_call", None),
        ("message", "assistant"),
    ], history
    assert history[1]["name"] == "get_time" and history[1]["output"] == "It is 12:34."
    assert "".join(part.get("text", "") for part in history[2]["content"]) == FINAL_TEXT
    (handshake,) = [h for h in handshakes.seen[since:] if h["path"] == "/v1/realtime"]
    assert f"openai-insecure-api-key.{secret.value}" in handshake["subprotocols"]
    assert handshake["headers"]["origin"] == "http://app.test" and MASTER_KEY not in repr(handshake)


def test_agents_sdk_refuses_a_long_lived_key_in_the_browser(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog], agents_bundle: str
) -> None:
    """Without `useInsecureApiKey` the SDK will not put a non-`ek_` key on a browser WebSocket at all."""
    gateway, handshakes = web_gateway
    since = len(handshakes.seen)
    url = f"ws://127.0.0.1:{gateway.port}/v1/realtime?model=gemini-live"
    run = run_page(browser, agents_bundle, {"url": url, "apiKey": MASTER_KEY, "text": USER_TEXT})
    assert not run["completed"] and any("ephemeral client key" in e for e in run["errors"]), run["errors"]
    assert handshakes.seen[since:] == []
