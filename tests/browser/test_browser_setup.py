"""The browser test setup itself: Chromium starts, pages on the gateway's origin are secure contexts, and the
fake microphone plays the test's WAV once (voice, then silence) at 24 kHz through an AudioWorklet-capable
AudioContext — what the console, Agents SDK and WebRTC tests rely on."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import origin
from tests.support.browser import BrowserThread
from tests.support.live import HandshakeLog, LiveGateway

MEASURE = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const ctx = new AudioContext({sampleRate: 24000});
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buffer = new Float32Array(2048);
  const levels = [];
  const start = performance.now();
  while (performance.now() - start < 2600) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    analyser.getFloatTimeDomainData(buffer);
    levels.push(Math.sqrt(buffer.reduce((sum, v) => sum + v * v, 0) / buffer.length));
  }
  stream.getTracks().forEach((track) => track.stop());
  await ctx.close();
  return {rate: ctx.sampleRate, worklet: typeof AudioWorkletNode, secure: isSecureContext, levels};
}"""


def test_fake_microphone_plays_the_wav_once(
    browser: BrowserThread, web_gateway: tuple[LiveGateway, HandshakeLog]
) -> None:
    """On the gateway's origin: a secure context with AudioWorklet; the microphone is quiet, then voiced above
    the emulator's VAD threshold (RMS 0.02), then quiet for good (no loop)."""
    gateway, _ = web_gateway

    def scenario(page: Any) -> dict[str, Any]:
        page.goto(f"{origin(gateway)}/health")
        result: dict[str, Any] = page.evaluate(MEASURE)
        return result

    result = browser.run(scenario)
    assert result["secure"] and result["worklet"] == "function" and result["rate"] == 24000
    levels = result["levels"]
    voiced = [i for i, level in enumerate(levels) if level > 0.02]
    assert voiced, levels
    assert levels[0] < 0.005 and all(level < 0.005 for level in levels[voiced[-1] + 2 :]), levels
    assert 6 <= len(voiced) <= 16, levels  # 1.2 s of voice, sampled every 100 ms
