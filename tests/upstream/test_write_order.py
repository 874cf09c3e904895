"""A frame Gemini answers leaves before the client's frames of the same callback (gateway/session.py, with
schemas/gemini.py `is_media_chunk`); media chunks still wait for the end of the callback, batched."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from gateway.emulator import EmulatorServer
from gateway.transports.channel import DirectFrames, Frame
from gateway.upstream.connection import UpstreamConnection
from schemas.gemini import is_media_chunk
from tests.upstream.support import AUTH, DEV_MODEL, TIMEOUT, document, entry, http_base, running_gateway


@pytest.mark.parametrize(
    ("message", "media"),
    [
        ({"realtimeInput": {"audio": {"data": "AAAA", "mimeType": "audio/pcm;rate=16000"}}}, True),
        ({"realtimeInput": {"video": {"data": "AAAA", "mimeType": "image/jpeg"}}}, True),
        ({"realtimeInput": {"mediaChunks": [{"data": "AAAA", "mimeType": "audio/pcm"}]}}, True),
        ({"realtimeInput": {"text": "hi"}}, False),
        ({"realtimeInput": {"activityEnd": {}}}, False),
        ({"realtimeInput": {"audioStreamEnd": True}}, False),
        ({"realtimeInput": {"audio": {"data": "AAAA"}, "audioStreamEnd": True}}, False),
        ({"clientContent": {"turns": [], "turnComplete": True}}, False),
        ({"toolResponse": {"functionResponses": []}}, False),
    ],
)
def test_only_media_chunks_wait_for_the_batch(message: dict[str, Any], media: bool) -> None:
    assert is_media_chunk(message) is media


async def test_the_turn_goes_upstream_before_the_client_hears_of_its_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`response.created` is made in the same callback as the `clientContent` that starts Gemini's answer; the
    turn is written first (the model starts sooner; a large item's echoes no longer delay it)."""
    writes: list[tuple[str, bytes]] = []
    write_many, direct_write = UpstreamConnection.write_many, DirectFrames.write

    def upstream(self: UpstreamConnection, messages: list[bytes]) -> bool:
        writes.extend(("upstream", message) for message in messages)
        return write_many(self, messages)

    def client(self: DirectFrames, frames: list[Frame]) -> bool:
        writes.extend(("client", frame if isinstance(frame, bytes) else frame.encode()) for frame in frames)
        return direct_write(self, frames)

    monkeypatch.setattr(UpstreamConnection, "write_many", upstream)
    monkeypatch.setattr(DirectFrames, "write", client)
    async with EmulatorServer(host="127.0.0.1", port=0, quiet=True) as emulator:
        model = entry("live", f"gemini/{DEV_MODEL}", api_key="k", api_base=http_base(emulator.url))
        async with running_gateway(tmp_path, document(model)) as gateway:
            url = f"{gateway.base}/v1/realtime?model=live"
            async with asyncio.timeout(TIMEOUT), connect(url, additional_headers=AUTH) as ws:
                session = {"type": "realtime", "output_modalities": ["text"]}
                await ws.send(json.dumps({"type": "session.update", "session": session}))
                for _ in range(2):  # the first one also dials Gemini; the second finds the link open
                    del writes[:]
                    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
                    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
                    await ws.send(json.dumps({"type": "response.create"}))
                    while json.loads(await ws.recv())["type"] != "response.done":
                        pass
    order = [(side, frame) for side, frame in writes if b"clientContent" in frame or b"response.created" in frame]
    assert [side for side, _ in order] == ["upstream", "client"], order
