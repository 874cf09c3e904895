"""The opt-in REST fallback (seed 002): text turns over `streamGenerateContent?alt=sse` when no Live socket opens.

`RestLiveConnection` speaks the Gemini Live *server* protocol to the session (GEMINI_LIVE.md §4: `setupComplete`,
`serverContent`, `turnComplete` + `usageMetadata`), so translators and the session stay unchanged. Text only:
audio or video input closes it with 1007; tools are not offered to the REST model.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from gateway.config import Deployment, Provider
from gateway.upstream.endpoints import GEMINI_HOST, GEMINI_VERSION, vertex_host, vertex_location
from gateway.upstream.google_auth import AccessToken

_GENERATION_FIELDS = ("temperature", "topP", "topK", "maxOutputTokens", "candidateCount", "seed")
_HTTP_CLOSE = {400: 1007, 401: 1008, 403: 1008, 404: 1008, 429: 1011}  # HTTP error → the Live close (§5.1)
_MEDIA = ("audio", "video", "mediaChunks", "media_chunks")
Frame = bytes


def rest_url(deployment: Deployment) -> str:
    """The REST `streamGenerateContent` URL of a deployment's `rest_fallback` model (Developer API or Vertex)."""
    model = deployment.rest_fallback
    base = (deployment.api_base or "").replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    if deployment.provider is Provider.GEMINI:
        version = deployment.api_version or GEMINI_VERSION
        return f"{(base or GEMINI_HOST).rstrip('/')}/{version}/models/{model}:streamGenerateContent?alt=sse"
    location = vertex_location(deployment) if deployment.vertex_project else "global"
    prefix = f"projects/{deployment.vertex_project}/locations/{location}/" if deployment.vertex_project else ""
    host = (base or vertex_host(location)).rstrip("/")
    return f"{host}/v1/{prefix}publishers/google/models/{model}:streamGenerateContent?alt=sse"


def rest_headers(deployment: Deployment, token: AccessToken | None) -> dict[str, str]:
    if token is not None:
        return token.headers()
    return {"x-goog-api-key": deployment.api_key or ""}


class RestLiveConnection:
    """The parts of a websockets `ClientConnection` the session uses, backed by REST calls (one per turn)."""

    def __init__(self, deployment: Deployment, headers: dict[str, str], client: httpx.AsyncClient | None = None):
        self.deployment = deployment  # the deployment whose rest_fallback model serves the turns
        self._url = rest_url(deployment)
        self._headers = headers  # credentials: never logged, never in the URL
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=120.0))
        self._frames: asyncio.Queue[Frame | None] = asyncio.Queue()  # Live server frames for the session
        self._setup: dict[str, Any] = {}  # the session's setup (systemInstruction, generationConfig)
        self._history: list[dict[str, Any]] = []  # user and model turns so far
        self._turn: asyncio.Task[None] | None = None  # the REST call in flight
        self._again = False  # a user turn arrived during the call: answer it next
        self.close_code: int | None = None
        self.close_reason: str | None = None

    # ---- the session's side --------------------------------------------------------------------
    async def send(self, frame: str | bytes, text: bool | None = None) -> None:
        if self.close_code is not None:
            return
        message = orjson.loads(frame)
        if "setup" in message:
            self._setup = message["setup"]
            self._emit({"setupComplete": {}})
        elif "clientContent" in message:
            content = message["clientContent"]
            self._history += content.get("turns") or []
            if content.get("turnComplete"):
                self._start_turn()
        elif "realtimeInput" in message:
            self._realtime(message["realtimeInput"])
        elif "contextUpdate" in message and "systemInstruction" in message["contextUpdate"]:
            self._setup = {**self._setup, "systemInstruction": message["contextUpdate"]["systemInstruction"]}

    def _realtime(self, realtime: dict[str, Any]) -> None:
        if any(key in realtime for key in _MEDIA):
            self._end(1007, "The REST fallback serves text turns only: audio and video input are not available.")
        elif isinstance(realtime.get("text"), str):
            self._history.append({"role": "user", "parts": [{"text": realtime["text"]}]})
            self._start_turn()

    async def recv(self) -> Frame:
        frame = await self._frames.get()
        if frame is None:
            self._frames.put_nowait(None)
            raise RuntimeError("the REST fallback was closed before it answered the setup")
        return frame

    def __aiter__(self) -> AsyncIterator[Frame]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Frame]:
        while (frame := await self._frames.get()) is not None:
            yield frame
        self._frames.put_nowait(None)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._turn is not None:
            self._turn.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._turn
        self._end(code, reason)
        await self._client.aclose()

    # ---- turns ----------------------------------------------------------------------------------
    def _emit(self, message: dict[str, Any]) -> None:
        self._frames.put_nowait(orjson.dumps(message))

    def _end(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
            self._frames.put_nowait(None)

    def _start_turn(self) -> None:
        if self._turn is None or self._turn.done():
            self._turn = asyncio.create_task(self._run_turn())
        else:
            self._again = True

    def _body(self) -> dict[str, Any]:
        generation = self._setup.get("generationConfig") or {}
        body: dict[str, Any] = {"contents": self._history}
        config = {k: generation[k] for k in _GENERATION_FIELDS if k in generation}
        if config:
            body["generationConfig"] = config
        if self._setup.get("systemInstruction"):
            body["systemInstruction"] = self._setup["systemInstruction"]
        return body

    async def _run_turn(self) -> None:
        """One streamed REST call: each text chunk as a Live frame, then generationComplete and turnComplete."""
        text, usage = "", None
        try:
            async with self._client.stream("POST", self._url, json=self._body(), headers=self._headers) as response:
                if response.status_code >= 400:
                    await self._http_error(response)
                    return
                async for chunk in _sse(response):
                    text += self._chunk(chunk)
                    usage = chunk.get("usageMetadata", usage)
        except httpx.HTTPError as exc:
            self._end(1011, f"REST fallback: {type(exc).__name__}")
            return
        self._history.append({"role": "model", "parts": [{"text": text}]})
        self._emit({"serverContent": {"generationComplete": True}})
        self._emit({"serverContent": {"turnComplete": True}, **({"usageMetadata": usage} if usage else {})})
        if self._again:
            self._again = False
            self._turn = asyncio.create_task(self._run_turn())

    def _chunk(self, chunk: dict[str, Any]) -> str:
        """A response chunk's text (thoughts dropped) as modelTurn text or, in AUDIO mode, a transcript."""
        candidates = chunk.get("candidates") or [{}]
        parts = (candidates[0].get("content") or {}).get("parts") or []
        text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str) and not p.get("thought"))
        if not text:
            return ""
        modalities = (self._setup.get("generationConfig") or {}).get("responseModalities") or ["AUDIO"]
        if modalities == ["TEXT"]:
            self._emit({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": text}]}}})
        else:
            self._emit({"serverContent": {"outputTranscription": {"text": text}}})
        return text

    async def _http_error(self, response: httpx.Response) -> None:
        body = await response.aread()
        try:
            message = str(orjson.loads(body)["error"]["message"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            message = f"HTTP {response.status_code}"
        self._end(_HTTP_CLOSE.get(response.status_code, 1011), message[:120])


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """`data: {json}` events of an `alt=sse` stream."""
    async for line in response.aiter_lines():
        if line.startswith("data:"):
            payload = line[5:].strip()
            if payload:
                yield orjson.loads(payload)
