"""aiortc and aioice, set up for the gateway: ICE host addresses, STUN/TURN servers, a cheaper audio level.

These are process-wide, because the libraries offer no per-connection hook; one gateway per process.
- aioice gathers host candidates on every interface address but loopback, from one module-level function;
  `use_host_addresses` swaps it for the configured list.
- aioice and aiortc log every ICE check at INFO: `quiet_library_logs` keeps them to warnings.
- aiortc's sender computes each outgoing frame's RFC 6465 audio level in a pure-Python loop over its
  samples, on the event loop: ~100 µs per 20 ms frame, per call (bench/calls.py). `use_fast_audio_level`
  replaces it with the same formula in numpy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import aioice.ice
import aiortc.rtp
import av
import numpy as np
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


def _audio_level_dbov(frame: av.AudioFrame) -> int:
    """RFC 6465 Appendix A, as aiortc's `compute_audio_level_dbov`: RMS in dBov, clamped to [-127, 0]."""
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.float64)
    rms = math.sqrt(float(np.dot(samples, samples)) / (frame.samples * 32767 * 32767)) if len(samples) else 0.0
    return round(min(max(20 * math.log10(rms), -127), 0)) if rms > 0 else -127


def use_fast_audio_level() -> None:
    aiortc.rtp.compute_audio_level_dbov = _audio_level_dbov


def quiet_library_logs() -> None:
    """aioice and aiortc log every ICE check and state change at INFO; the gateway logs one line per call."""
    for name in ("aioice", "aiortc"):
        logging.getLogger(name).setLevel(logging.WARNING)

