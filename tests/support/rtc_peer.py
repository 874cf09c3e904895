"""A WebRTC peer in its own process, so a test can kill it outright (no DTLS close, no hangup): it posts an
offer with a silent mic track, asks for one text reply over `oai-events`, prints READY <call_id> once the
reply is done, then keeps its mic streaming until it is killed.

    python -m tests.support.rtc_peer <gateway http base> <key> <model>
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import orjson
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack

from gateway.transports.rtc_process import use_host_addresses


async def main(base: str, key: str, model: str) -> None:
    use_host_addresses(["127.0.0.1"])
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    dc = pc.createDataChannel("oai-events")
    pc.addTrack(AudioStreamTrack())  # aiortc's paced silence: RTP flows the whole time
    done = asyncio.Event()
    dc.on("message", lambda m: done.set() if orjson.loads(m).get("type") == "response.done" else None)
    opened = asyncio.Event()
    dc.on("open", opened.set)
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            f"{base}/realtime/calls?model={model}",
            content=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/sdp"},
        )
    reply.raise_for_status()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=reply.text, type="answer"))
    await asyncio.wait_for(opened.wait(), 15)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]}
    text_only = {"type": "realtime", "output_modalities": ["text"]}
    for event in (
        {"type": "session.update", "session": text_only},
        {"type": "conversation.item.create", "item": item},
        {"type": "response.create"},
    ):
        dc.send(orjson.dumps(event).decode())
    await asyncio.wait_for(done.wait(), 15)
    print("READY", reply.headers["location"].rsplit("/", 1)[-1], flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
