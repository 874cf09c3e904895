"""How a refused WebSocket ends: after the error, the client's own frames are read and dropped until it is quiet,
then the close goes out (not when the server is draining: its shutdown would close the socket under it).

A client that sends at once after connecting (the README's snippet sends three events; a seed-003 client sends
its `config`) would otherwise see its sends race our close frame and fail with ConnectionClosed, a traceback
instead of the error's words, in about one run in four.
"""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket

from gateway.accounts.access import Refusal
from gateway.close_codes import HandshakeRefusal

LINGER_QUIET_S = 0.1  # a refused client quiet this long has sent what it sent before reading the error
LINGER_MAX_S = 1.0  # and the close comes after this long at most, however much it sends


async def client_stays(websocket: WebSocket) -> bool:
    """Read and drop what the client sends until it is quiet for LINGER_QUIET_S (at most LINGER_MAX_S); False
    if it closed meanwhile (nothing is left to close)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_MAX_S
    while (left := min(LINGER_QUIET_S, deadline - loop.time())) > 0:
        try:
            async with asyncio.timeout(left):
                message = await websocket.receive()
        except TimeoutError:
            return True
        if message["type"] == "websocket.disconnect":
            return False
    return True


async def close_refused(websocket: WebSocket, refusal: Refusal) -> None:
    """The refusal's close, once its error is out: after the linger, or at once while draining."""
    if refusal.kind is HandshakeRefusal.DRAINING or await client_stays(websocket):
        await websocket.close(refusal.close_code, refusal.close_reason)
