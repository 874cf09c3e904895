"""A certificate and key checked before serving (`livegate serve`, `livegate emulator`): one line naming the file
and what is wrong, where uvicorn or websockets would raise a traceback whose FileNotFoundError names no file."""

from __future__ import annotations

import ssl


def tls_problem(certfile: str, keyfile: str) -> str | None:
    """Why this certificate and key cannot serve TLS, in one line naming the file; None when they can."""
    for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:  # ssl's own error would not name the file
            return f"{flag} {path}: {exc.strerror}"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        return (f"cannot serve TLS with the certificate {certfile} and the key {keyfile} ({exc.reason or 'not PEM'}): "
                "both must be PEM, the key the certificate's own")
    return None
