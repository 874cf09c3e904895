"""WebRTC call settings (`general_settings.webrtc` in the config file), with the defaults we ship.

OPENAI_REALTIME.md §10: `POST /v1/realtime/calls` answers an SDP offer; the gateway is the other peer, so it
needs its own ICE candidates (host addresses, optionally STUN/TURN) and time limits for a peer that never
connects or that vanishes.
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# What aiortc accepts (rtcicetransport.py parse_stun_turn_uri): stun[s]:host[:port], turn[s]:host[:port][?transport=…].
_ICE_URL = re.compile(r"^(stuns?|turns?):[^?:/\s]+(:\d{1,5})?(\?transport=(udp|tcp))?$")


class IceServer(BaseModel):
    """One STUN or TURN server, as in the browser's `RTCIceServer` (the gateway uses the first of each kind)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: str | list[str]  # e.g. "stun:stun.example.com:3478" or ["turn:turn.example.com:3478?transport=udp"]
    username: str | None = None  # TURN only
    credential: str | None = None  # TURN only

    @field_validator("urls")
    @classmethod
    def _urls(cls, value: str | list[str]) -> str | list[str]:
        for url in [value] if isinstance(value, str) else value:
            if not _ICE_URL.match(url):
                raise ValueError(f"expected stun:host[:port] or turn:host[:port][?transport=udp|tcp], got {url!r}")
        return value


class WebRTCSettings(BaseModel):
    """Every field has a default: a gateway reachable on its hosts' own addresses needs no section at all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ice_servers: list[IceServer] = []  # STUN/TURN for the gateway's candidates; none: host candidates only
    # The addresses the gateway offers host candidates (and binds UDP sockets) on. None: every interface
    # address but loopback (aioice's choice); ["127.0.0.1"] for a browser on the same machine (and the tests).
    host_addresses: list[str] | None = None
    connect_timeout_seconds: float = Field(15, gt=0)  # a call whose peer has not connected by then is ended
    # A call whose peer sent audio and then nothing for this long is ended (the peer vanished without a DTLS
    # close); ICE consent freshness alone takes ~30 s (RFC 7675) to notice.
    media_timeout_seconds: float = Field(5, gt=0)
    # Speech over the call's own playback flushes it at once: 200 ms in a row at or above this RMS (full scale
    # 1.0; 0.02 ≈ -34 dBFS). Gemini signals barge-in only while still generating, and its audio often plays on
    # for seconds after that. None: flush only on Gemini's signals (and on cancel, clear).
    barge_in_level: float | None = Field(0.02, gt=0, le=1)

    @field_validator("host_addresses")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        for address in value or ():
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"expected IP addresses such as 127.0.0.1 or 203.0.113.7, got {address!r}") from None
        if value is not None and not value:
            raise ValueError("expected at least one address (leave the field out for every interface)")
        return value
