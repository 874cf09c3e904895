"""CORS for the HTTP routes browser pages call from their own origin (calls, their hangup, client secrets).

Preflights are answered by Starlette's `CORSMiddleware`; `Location` is exposed, since the call id travels in
it and a cross-origin `fetch` hides every other response header (the Agents JS SDK reads it)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware


def browser_cors(allowed_origins: Sequence[str] | None) -> Middleware:
    """`allowed_origins` None: any page may call (the key still decides); else only those origins."""
    return Middleware(
        CORSMiddleware,
        allow_origins=list(allowed_origins) if allowed_origins is not None else ["*"],
        allow_methods=["POST"],
        allow_headers=["*"],  # Authorization, Content-Type, the Agents SDK's X-OpenAI-Agents-SDK
        expose_headers=["Location"],
        max_age=600,
    )
