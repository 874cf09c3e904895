"""The opt-in REST fallback (seed 002): text turns over `streamGenerateContent` when no Live socket opens.

`RestLiveConnection` speaks the Gemini Live *server* protocol to the session (GEMINI_LIVE.md §4: `setupComplete`,
`serverContent`, `turnComplete` + `usageMetadata`), so translators and the session stay unchanged. Text only:
audio or video input closes it with 1007; tools are not offered to the REST model. The calls are google-genai's
`generate_content_stream` (its SSE parsing, URLs and errors), over an httpx client the gateway owns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from google.oauth2.credentials import Credentials as BearerToken

from gateway.config import Deployment, Provider
from gateway.upstream.endpoints import GEMINI_HOST, GEMINI_VERSION, vertex_host, vertex_location
from gateway.upstream.google_auth import AccessToken

_GENERATION_FIELDS = ("temperature", "topP", "topK", "maxOutputTokens", "candidateCount", "seed")
_HTTP_CLOSE = {400: 1007, 401: 1008, 403: 1008, 404: 1008, 429: 1011}  # HTTP error → the Live close (§5.1)
_MEDIA = ("audio", "video", "mediaChunks", "media_chunks")
REST_VERTEX_VERSION = "v1"  # generateContent is GA on Vertex (Live still needs v1beta1)
Frame = bytes


def rest_base(deployment: Deployment) -> tuple[str, str]:
    """The REST host and API version of a deployment: its `api_base` (ws→http) or Google's, per backend."""
    base = (deployment.api_base or "").replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    if deployment.provider is Provider.GEMINI:
        return (base or GEMINI_HOST).rstrip("/"), deployment.api_version or GEMINI_VERSION
    location = vertex_location(deployment) if deployment.vertex_project else "global"
    return (base or vertex_host(location)).rstrip("/"), REST_VERTEX_VERSION


def rest_url(deployment: Deployment) -> str:
    """Where the turns go, for logs (google-genai builds the same URL from `rest_base`)."""
    base, version = rest_base(deployment)
    return f"{base}/{version}/…/models/{deployment.rest_fallback}:streamGenerateContent"


def genai_client(deployment: Deployment, token: AccessToken | None, http: httpx.AsyncClient) -> genai.Client:
    """A google-genai client for the deployment's backend: Developer API key, Vertex express key, or the
    gateway's Vertex access token (already refreshed by gateway/upstream/google_auth.py, so the SDK never looks
    for credentials of its own)."""
    base, version = rest_base(deployment)
    options = genai_types.HttpOptions(
        base_url=base,
        api_version=version,
        httpx_async_client=http,  # ours: timeouts, and respx in tests
        retry_options=genai_types.HttpRetryOptions(attempts=1),  # fallbacks are the retry policy (seed 002)
    )
    if deployment.provider is Provider.GEMINI:
        return genai.Client(vertexai=False, api_key=deployment.api_key or "", http_options=options)
    if token is None:  # Vertex express mode: an API key and no project
        return genai.Client(vertexai=True, api_key=deployment.api_key, http_options=options)
    credentials = BearerToken(token.token, quota_project_id=token.quota_project)  # type: ignore[no-untyped-call]
    return genai.Client(
        vertexai=True,
        project=deployment.vertex_project,
        location=vertex_location(deployment),
        credentials=credentials,
        http_options=options,
    )


class RestLiveConnection:
    """The parts of a websockets `ClientConnection` the session uses, backed by REST calls (one per turn)."""

    def __init__(self, deployment: Deployment, token: AccessToken | None, client: httpx.AsyncClient | None = None):
        self.deployment = deployment  # the deployment whose rest_fallback model serves the turns
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=120.0))
        self._genai = genai_client(deployment, token, self._client)  # credentials: never logged, never in a URL
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

    def _config(self) -> genai_types.GenerateContentConfig:
        generation = self._setup.get("generationConfig") or {}
        fields: dict[str, Any] = {k: generation[k] for k in _GENERATION_FIELDS if k in generation}
        if self._setup.get("systemInstruction"):
            fields["systemInstruction"] = self._setup["systemInstruction"]
        return genai_types.GenerateContentConfig.model_validate(fields)

    async def _run_turn(self) -> None:
        """One streamed REST call: each text chunk as a Live frame, then generationComplete and turnComplete."""
        text, usage = "", None
        try:
            stream = await self._genai.aio.models.generate_content_stream(
                model=self.deployment.rest_fallback or "", contents=self._history, config=self._config()
            )
            async for chunk in stream:
                text += self._chunk(chunk)
                if chunk.usage_metadata is not None:
                    usage = chunk.usage_metadata.model_dump(mode="json", by_alias=True, exclude_none=True)
        except genai_errors.APIError as exc:
            self._end(_HTTP_CLOSE.get(exc.code, 1011), str(exc.message or f"HTTP {exc.code}")[:120])
            return
        except httpx.HTTPError as exc:
            self._end(1011, f"REST fallback: {type(exc).__name__}")
            return
        self._history.append({"role": "model", "parts": [{"text": text}]})
        self._emit({"serverContent": {"generationComplete": True}})
        self._emit({"serverContent": {"turnComplete": True}, **({"usageMetadata": usage} if usage else {})})
        if self._again:
            self._again = False
            self._turn = asyncio.create_task(self._run_turn())

    def _chunk(self, chunk: genai_types.GenerateContentResponse) -> str:
        """A response chunk's text (thoughts dropped) as modelTurn text or, in AUDIO mode, a transcript."""
        content = chunk.candidates[0].content if chunk.candidates else None
        parts = (content.parts if content is not None else None) or []
        text = "".join(p.text for p in parts if isinstance(p.text, str) and not p.thought)
        if not text:
            return ""
        modalities = (self._setup.get("generationConfig") or {}).get("responseModalities") or ["AUDIO"]
        if modalities == ["TEXT"]:
            self._emit({"serverContent": {"modelTurn": {"role": "model", "parts": [{"text": text}]}}})
        else:
            self._emit({"serverContent": {"outputTranscription": {"text": text}}})
        return text
