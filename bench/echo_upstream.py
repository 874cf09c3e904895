"""`python -m bench.echo_upstream --port P`: the scripted upstream of the audio figures.

A Gemini Live stand-in that answers `setup` with `setupComplete` and echoes every `realtimeInput.audio`
chunk back at once as a `serverContent.modelTurn` audio part (the shape Gemini's own audio takes), so one
client frame makes one event each way. Anything else is read and ignored. `GET /stats` answers the frames
received and echoed so far (all connections), for the bench's both-ways count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from http import HTTPStatus

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

SETUP_COMPLETE = orjson.dumps({"setupComplete": {}}).decode()
_HEAD = '{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"audio/pcm;rate=24000","data":"'
_TAIL = '"}}]}}}'


class Counts:
    """Audio frames in and echoes out since the server started."""

    def __init__(self) -> None:
        self.received = 0
        self.echoed = 0


async def _echo(ws: ServerConnection, counts: Counts) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.recv()  # the setup
        await ws.send(SETUP_COMPLETE)
        async for raw in ws:
            audio = (orjson.loads(raw).get("realtimeInput") or {}).get("audio")
            if audio is None:
                continue
            counts.received += 1
            await ws.send(_HEAD + audio["data"] + _TAIL)  # base64 needs no JSON escaping
            counts.echoed += 1


async def run(host: str, port: int) -> None:
    counts = Counts()

    def http(ws: ServerConnection, request: Request) -> Response | None:
        if request.path == "/stats":
            return ws.respond(HTTPStatus.OK, orjson.dumps(vars(counts)).decode())
        if request.path == "/health":
            return ws.respond(HTTPStatus.OK, "ok")
        return None

    async with serve(lambda ws: _echo(ws, counts), host, port, compression=None, max_size=None,
                     process_request=http) as server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.echo_upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
