"""ICE for WebRTC calls: which addresses the gateway offers as host candidates, and its STUN/TURN servers.

aioice (under aiortc) gathers host candidates on every interface address but loopback, from one
module-level function with no per-connection hook; `use_host_addresses` swaps that function for the
configured list. It is process-wide, like the UDP sockets it governs: one gateway per process.
"""

from __future__ import annotations

from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

from schemas.webrtc import WebRTCSettings

_AIOICE_DEFAULT = aioice.ice.get_host_addresses  # every interface address but loopback


def use_host_addresses(addresses: Sequence[str] | None) -> None:
    """Gather host candidates on exactly these addresses (None: aioice's default, every non-loopback one)."""
    if addresses is None:
        aioice.ice.get_host_addresses = _AIOICE_DEFAULT
        return
    chosen = list(addresses)

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = configured


def rtc_configuration(settings: WebRTCSettings) -> RTCConfiguration:
    """The peer connection's configuration. An empty server list is explicit: aiortc's default would
    otherwise query a public STUN server for every call."""
    servers = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in settings.ice_servers]
    return RTCConfiguration(iceServers=servers)
