"""Who can reach a gateway without a key: refused off loopback unless the operator says so, warned on it.

An open gateway spends its Gemini keys and Google credentials for anyone who reaches the port (issue #9);
the native passthrough never serves without a key at all (`gateway/transports/passthrough.py`, issue #16).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True)
class Exposure:
    """What start-up must do about authentication."""

    refusal: str | None = None  # serving must not start, and this says why and what to do
    warnings: tuple[str, ...] = ()  # lines to log before serving


def is_loopback(host: str) -> bool:
    """Only this machine can connect: 127.0.0.0/8, ::1 or localhost (0.0.0.0 and :: mean every interface)."""
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another host name: it may resolve to a public address


def check_exposure(auth_on: bool, host: str, allow_unauthenticated: bool, config_path: str) -> Exposure:
    if auth_on:
        return Exposure()
    if is_loopback(host):
        return Exposure(
            warnings=(
                f"no general_settings.master_key in {config_path}: any program on this machine can use the "
                "gateway (fine for development; set a key before serving other hosts)",
            )
        )
    if allow_unauthenticated:
        return Exposure(
            warnings=(
                f"AUTHENTICATION IS OFF on {host} (--allow-unauthenticated): every client that reaches this "
                "port is let in and spends this gateway's Gemini quota",
                "set general_settings.master_key unless something in front of livegate checks every client",
            )
        )
    return Exposure(
        refusal=(
            f"refusing to serve on {host} without a gateway key: anyone who reaches this port could use your "
            f"Gemini keys and Google credentials.\n"
            f"  Set one in {config_path}:\n"
            "    general_settings:\n"
            "      master_key: os.environ/LIVEGATE_MASTER_KEY\n"
            "  then export LIVEGATE_MASTER_KEY=<a long random string> and give it to your clients as their API key;\n"
            "  or serve on 127.0.0.1, or pass --allow-unauthenticated if a proxy in front of livegate checks clients."
        )
    )
