"""The start-up lines: what this gateway serves, printed once it listens (issue #9).

`SECTIONS` is the list of line makers, in print order; a room with something to say at start-up (storage,
counters, the console's URL) adds one function here. Secrets are masked; the built-in emulator's own port is
a debug line elsewhere, never a headline.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway import __version__
from gateway.config import Deployment, GatewayConfig, Provider
from gateway.config_errors import mask, masked_url
from gateway.upstream.adc import adc_source
from schemas.limits import Limits

log = logging.getLogger("livegate")
_ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})


@dataclass(frozen=True)
class Serving:
    """What the start-up lines describe."""

    config: GatewayConfig
    limits: Limits
    ws_base: str  # ws://host:port or wss://host:port, as clients dial it
    state: Any = None  # the app's state, for sections other rooms add


Section = Callable[[Serving], list[str]]


def base_url(host: str, port: int, tls: bool) -> str:
    """`ws://127.0.0.1:4000`, `wss://[::1]:4443`; every interface is shown as this machine's name."""
    shown = host
    if host in _ALL_INTERFACES:
        shown = os.uname().nodename if hasattr(os, "uname") else "localhost"
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'wss' if tls else 'ws'}://{shown}:{port}"


def _serving(serving: Serving) -> list[str]:
    return [f"livegate {__version__} serving {serving.ws_base}/v1/realtime?model=<alias>"]


def _console(serving: Serving) -> list[str]:
    """The first thing after the URL: where a person can hear the gateway work (gateway/web/)."""
    return [f"  open {serving.ws_base.replace('ws', 'http', 1)}/ and talk"]


def _clients(serving: Serving) -> list[str]:
    base = serving.ws_base
    http = base.replace("ws", "http", 1)
    alias = next(iter(serving.config.deployments), "<alias>")
    return [f"  OpenAI clients: base_url={http}/v1 (websocket_base_url={base}/v1), model={alias!r}"]


def _aliases(serving: Serving) -> list[str]:
    lines = []
    width = max((len(alias) for alias in serving.config.deployments), default=0)
    for alias, group in serving.config.deployments.items():
        upstreams = "; then ".join(_upstream(d) for d in group)
        lines.append(f"  {alias.ljust(width)}  -> {upstreams}")
    return lines


def _upstream(d: Deployment) -> str:
    where = f"{d.provider.value}/{d.model_id}"
    details = []
    if d.provider is Provider.EMULATOR:
        details.append("built-in emulator")
    if d.api_key:
        details.append(f"api_key {mask(d.api_key)}")
    if d.api_base:
        details.append(f"api_base {masked_url(d.api_base)}")
    if d.vertex_project:
        details.append(f"project {d.vertex_project}, {d.vertex_location or 'us-central1'}")
    if d.provider is Provider.VERTEX and not d.api_key:
        details.append(f"credentials {mask(d.vertex_credentials) or 'application default'}")
    if d.rest_fallback:
        details.append(f"REST fallback {d.rest_fallback}")
    return f"{where} ({', '.join(details)})" if details else where


def _auth(serving: Serving) -> list[str]:
    if serving.config.master_key:
        return ["  auth: on (general_settings.master_key)"]
    return ["  auth: OFF: no general_settings.master_key, every client is let in"]


def _limits(serving: Serving) -> list[str]:
    limits = serving.limits
    idle = f"{limits.idle_timeout_seconds:g} s" if limits.idle_timeout_seconds else "off"
    total = limits.max_sessions or "unlimited"
    per_key = limits.max_sessions_per_key or "unlimited"
    return [
        f"  limits: {limits.max_session_seconds:g} s per session, idle timeout {idle}, sessions {total} "
        f"({per_key} per key), frames up to {limits.max_frame_bytes // 1024 // 1024} MiB, "
        f"shutdown grace {limits.shutdown_grace_seconds:g} s"
    ]


def _passthrough(serving: Serving) -> list[str]:
    if not serving.config.master_key:
        return ["  vertex passthrough: off (it needs a gateway key: general_settings.master_key)"]
    settings = serving.config.passthrough
    if settings.credentials:
        credentials = f"credentials {mask(settings.credentials)}"
    else:
        source = adc_source(os.environ)
        credentials = f"application default credentials from {source}" if source else "no credentials: closes 4001"
    project = settings.project or "?project_id="
    return [f"  vertex passthrough: {serving.ws_base}/v1/vertex-ai/live (project {project}, {credentials})"]


def _webrtc(serving: Serving) -> list[str]:
    settings = serving.config.webrtc
    hosts = ", ".join(settings.host_addresses) if settings.host_addresses else "every interface but loopback"
    servers = [url for server in settings.ice_servers for url in ([server.urls] if isinstance(server.urls, str) else
                                                                   server.urls)]
    http = serving.ws_base.replace("ws", "http", 1)
    return [f"  webrtc calls: POST {http}/v1/realtime/calls (ICE host candidates on {hosts}; "
            f"STUN/TURN: {', '.join(servers) or 'none'})"]



def _storage(serving: Serving) -> list[str]:
    """Where keys and spend live (gateway/accounts/), and the operator's endpoints (gateway/ops/)."""
    config = serving.config
    accounts = config.accounts
    url = accounts.database_url
    if url is None:
        lines = ["  storage: none (no database): master key only, spend in logs and /metrics only"]
    else:
        transcripts = ", with transcripts" if accounts.store_transcripts else ""
        where = _database(url, config.path)
        lines = [f"  storage: {where}: virtual keys (/key/*), spend logs (/spend/logs){transcripts}"]
    guard = "metrics_key" if accounts.metrics_key else "open"
    lines.append(f"  operator: /metrics ({guard}), /health/liveliness, /health/readiness")
    if accounts.allowed_origins is not None:
        lines.append(f"  allowed origins: {', '.join(accounts.allowed_origins)}")
    return lines


def _database(url: str, config_path: str) -> str:
    """`sqlite livegate.db` (beside the config), `sqlite /var/lib/x.db`, `postgresql postgresql+asyncpg://u:****@…`."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        here = os.path.dirname(os.path.abspath(config_path))
        return f"sqlite {os.path.relpath(path, here) if os.path.dirname(path) == here else path}"
    return f"postgresql {masked_url(url)}"


def _counters(serving: Serving) -> list[str]:
    """Which backend holds the admission counters and running spend (gateway/accounts/shared.py), and the workers."""
    from gateway.accounts.shared import describe

    workers = getattr(serving.state, "workers", 1) if serving.state is not None else 1
    lines = [f"  counters: {describe(serving.config.accounts)}"]
    if workers > 1:
        lines.append(f"  workers: {workers} processes on one port (SIGTERM to the master drains them all)")
    return lines


SECTIONS: list[Section] = [
    _serving, _console, _clients, _aliases, _auth, _limits, _passthrough, _storage, _counters, _webrtc
]


def startup_lines(serving: Serving) -> list[str]:
    return [line for section in SECTIONS for line in section(serving)]


def print_startup(serving: Serving) -> None:
    """One log record per line, at INFO on the `livegate` logger."""
    for line in startup_lines(serving):
        log.info("%s", line)
