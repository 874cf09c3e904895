"""One Agents-JS-over-WebRTC call in Chromium, run inside a fresh network namespace (`unshare -n`) that has
only a loopback interface, so every ICE candidate, STUN check and RTP packet of the call stays on loopback
(Chromium would otherwise also pair its other interfaces' candidates with the gateway's).

    unshare -n python -m tests.browser.webrtc_call <bundle.js> <mic.wav> <secret|insecure>

`secret`: the page gets an `ek_` client secret its server minted and uses the SDK's default transport (no
`useInsecureApiKey`); `insecure`: the master key, with `useInsecureApiKey` (the SDK refuses it otherwise).

Starts a gateway (the default test aliases, on the built-in emulator), mints the page's key, opens an app
page on another origin (http://localhost:9, a secure context) and runs the bundle's `runCall`; prints one
JSON object: the page's result plus what the gateway saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from openai import OpenAI
from playwright.sync_api import sync_playwright

from tests.support.browser import chromium_path, launch_flags
from tests.support.live import MASTER_KEY, GatewayThread

APP = "http://localhost:9/app"  # fulfilled by Playwright: an app page on its own origin (a secure context)
APP_PAGE = "<!doctype html><title>app</title>"
USER_TEXT = "What is the time? Please call get_time."
WEBRTC_FLAGS = [
    "--allow-loopback-in-peer-connection",  # loopback is the only interface here; Chromium skips it by default
    # Raw host candidates, not mDNS names (resolving those would be multicast); the gateway is on loopback.
    "--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks",
]


def _mint(gateway_base: str) -> str:
    """What the app's server does: an `ek_` secret for the page (openai-python, the gateway's master key)."""
    client = OpenAI(api_key=MASTER_KEY, base_url=gateway_base)
    secret = client.realtime.client_secrets.create(session={"type": "realtime", "model": "gemini-live"})
    return str(secret.value)


def main(bundle: Path, microphone: Path, mode: str) -> dict[str, Any]:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    thread = GatewayThread(Path(tempfile.mkdtemp(prefix="webrtc-browser-")))
    gateway = thread.start()
    try:
        key = _mint(gateway.http_base) if mode == "secret" else MASTER_KEY
        url = f"{gateway.http_base}/realtime/calls" + ("" if mode == "secret" else "?model=gemini-live")
        options = {"url": url, "apiKey": key, "insecure": mode != "secret", "text": USER_TEXT}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), args=[*launch_flags(microphone), *WEBRTC_FLAGS]
            )
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.route(APP, lambda route: route.fulfill(content_type="text/html", body=APP_PAGE))
            page.goto(APP)
            page.add_script_tag(content=bundle.read_text())
            result: dict[str, Any] = page.evaluate("options => window.runCall(options)", options)
            browser.close()
        result["console"] = console[-40:]
        result["key_was_secret"] = key.startswith("ek_")
        return result
    finally:
        thread.stop()


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])))
