"""The console page (`GET /`, `/console/`): static files in this folder, no build step, plus the options it
loads (aliases with their prices, voices, whether a key is needed). The page mints its own `ek_` secret."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.accounts.access import Accounts
from gateway.config import GatewayConfig
from schemas.pricing import price_for
from schemas.voices import DEFAULT_GEMINI_VOICE, GEMINI_VOICES, OPENAI_TO_GEMINI_VOICE

WEB_DIR = Path(__file__).resolve().parent
INDEX = WEB_DIR / "index.html"
ASSET_SUFFIXES = frozenset({".html", ".js", ".css"})  # the page's files; this folder's Python is not served


class _Assets(StaticFiles):
    """The page's static files in WEB_DIR, and nothing else there (its routes' source, caches)."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).suffix not in ASSET_SUFFIXES:
            return "", None
        return super().lookup_path(path)


async def index(request: Request) -> FileResponse:
    return FileResponse(INDEX, headers={"Cache-Control": "no-cache"})


async def to_console(request: Request) -> RedirectResponse:
    return RedirectResponse("/console/")


async def console_options(request: Request) -> JSONResponse:
    """Aliases (with USD per 1M tokens by modality, when known), voices, and whether minting needs a key."""
    config: GatewayConfig = request.app.state.config
    accounts: Accounts = request.app.state.accounts
    aliases = []
    for alias, deployments in config.deployments.items():
        if deployments[0].profile.transcription_only:  # the console holds conversations
            continue
        price = price_for(deployments[0].model_id)
        aliases.append({"id": alias, "price": asdict(price) if price else None})
    voices = sorted(OPENAI_TO_GEMINI_VOICE) + sorted(GEMINI_VOICES)
    return JSONResponse(
        {"aliases": aliases, "voices": voices, "default_voice": DEFAULT_GEMINI_VOICE, "key_required": accounts.required}
    )


def console_routes() -> list[BaseRoute]:
    return [
        Route("/", index),
        Route("/console", to_console),
        Route("/console/", index),
        Route("/console/options.json", console_options),
        Mount("/console", _Assets(directory=WEB_DIR), name="console"),
    ]
