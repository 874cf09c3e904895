"""The start-up lines gateway/accounts and gateway/ops add (gateway/ops/banner.py `_storage`)."""

from __future__ import annotations

from pathlib import Path

from gateway.config import load_config
from gateway.ops.banner import Serving, startup_lines

HEAD = "model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-flash-live-preview}}\n"


def lines_for(tmp_path: Path, general: str, environ: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(HEAD + general)
    config = load_config(path, environ or {})
    return [line for line in startup_lines(Serving(config, config.limits, "ws://127.0.0.1:4000")) if "storage" in
            line or "operator" in line or "origins" in line]


def test_storage_lines(tmp_path: Path) -> None:
    """No database says where spend goes; Postgres shows no password; guarded /metrics and origins are named."""
    assert lines_for(tmp_path, "") == [
        "  storage: none (no database): master key only, spend in logs and /metrics only",
        "  operator: /metrics (open), /health/liveliness, /health/readiness",
    ]
    general = (
        "general_settings: {master_key: k, database_url: os.environ/DATABASE_URL, metrics_key: m,"
        " allowed_origins: ['https://a.example'], store_transcripts: true}\n"
    )
    lines = lines_for(tmp_path, general, {"DATABASE_URL": "postgresql://u:hunter2@db:5432/lg"})
    assert lines == [
        "  storage: postgresql postgresql+asyncpg://u:****@db:5432/lg: virtual keys (/key/*), spend logs "
        "(/spend/logs), with transcripts",
        "  operator: /metrics (metrics_key), /health/liveliness, /health/readiness",
        "  allowed origins: https://a.example",
    ]
    elsewhere = lines_for(tmp_path, "general_settings: {master_key: k, database_url: 'sqlite:////var/lib/x.db'}\n")
    assert elsewhere[0].startswith("  storage: sqlite /var/lib/x.db: ")
