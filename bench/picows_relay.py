"""`python -m bench.picows_relay --port P --upstream-url U [--upstream-key K]`: the leanest relay Python offers here.

Both of its sockets are picows (a Cython WebSocket library: frames parsed and built in C, a callback per frame, no
task, no queue), on uvloop, forwarding frames both ways untranslated. It dials `U` when the client connects and
holds the client's frames until that dial completes. Not a stack livegate could serve on as it is (no HTTP
routes, no ASGI): the bench reports it as what this machine allows a Python relay, beside the bare relay on
livegate's own stack (`bench/apps.py`), so a figure that misses its target shows which of the two floors it is
under (issue #15).
"""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_connect, ws_create_server

_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)


class _Upstream(WSListener):
    """Gemini's side: each frame goes to the client as it is."""

    def __init__(self, client: WSTransport) -> None:
        self.client = client

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind in _DATA:
            self.client.send(kind, frame.get_payload_as_memoryview())
        elif kind == WSMsgType.CLOSE:
            self.client.send_close(frame.get_close_code())
            self.client.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.client.disconnect()


class _Client(WSListener):
    """The client's side: frames go upstream once the dial is done, those before it in order."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.upstream: WSTransport | None = None
        self.waiting: list[tuple[WSMsgType, bytes]] = []
        self.dialling: asyncio.Task[None] | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.dialling = asyncio.get_running_loop().create_task(self._dial(transport))

    async def _dial(self, client: WSTransport) -> None:
        upstream, _ = await ws_connect(lambda: _Upstream(client), self.url, extra_headers=self.headers)
        self.upstream = upstream
        for kind, payload in self.waiting:
            upstream.send(kind, payload)
        self.waiting = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind in _DATA:
            if self.upstream is None:
                self.waiting.append((kind, frame.get_payload_as_bytes()))
            else:
                self.upstream.send(kind, frame.get_payload_as_memoryview())
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.upstream is not None:
            self.upstream.disconnect()
        elif self.dialling is not None:
            self.dialling.cancel()


async def serve(port: int, url: str, key: str | None) -> None:
    headers = {"x-goog-api-key": key} if key else {}

    def listener(request: WSUpgradeRequest) -> _Client:
        return _Client(url, headers)

    server = await ws_create_server(listener, "127.0.0.1", port)
    await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.picows_relay")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-url", required=True)
    parser.add_argument("--upstream-key")
    args = parser.parse_args(argv)
    uvloop.run(serve(args.port, args.upstream_url, args.upstream_key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
