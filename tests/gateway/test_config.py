"""Config loading: LiteLLM-style model_list, os.environ/ values, precise start-up errors, check-config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, Provider, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_example_config_loads() -> None:
    """The shipped example config is valid and uses the emulator (so `make run` needs no credentials)."""
    config = load_config(Path(__file__).parents[2] / "examples" / "config.yaml", {})
    assert config.uses_emulator and config.master_key
    assert all(d.provider is Provider.EMULATOR for ds in config.deployments.values() for d in ds)


def test_env_values_and_fallback_order(tmp_path: Path) -> None:
    """os.environ/NAME is resolved; several entries with one alias are kept in order."""
    path = write(
        tmp_path,
        """
model_list:
  - model_name: live
    litellm_params: {model: gemini/gemini-3.1-flash-live-preview, api_key: os.environ/GKEY}
  - model_name: live
    litellm_params: {model: vertex_ai/gemini-live-2.5-flash, vertex_project: p, vertex_location: global}
    model_info: {mode: realtime, text_output: true}
""",
    )
    config = load_config(path, {"GKEY": "AIzaSECRET"})
    first, second = config.deployments["live"]
    assert first.api_key == "AIzaSECRET" and first.provider is Provider.GEMINI
    assert second.provider is Provider.VERTEX and second.profile.text_output


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n",
            "model_list[0] ('a'): litellm_params.model",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: emulator/x, bogus: 1}\n",
            "litellm_params.bogus: unknown field",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: gemini/x, api_key: os.environ/NOPE}\n",
            "environment variable NOPE is not set",
        ),
        ("model_list:\n  - model_name: a\n    litellm_params: {model: gemini/x}\n", "a Gemini API key is required"),
        ("model_list: []\n", "model_list"),
        ("model_list: [\n", "not valid YAML"),
    ],
)
def test_bad_files_name_file_entry_and_field(tmp_path: Path, text: str, needle: str) -> None:
    """Each bad file fails at load with a message naming the file, the entry and the field."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert str(path) in str(info.value) and needle in str(info.value)


def test_check_config_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`livegate check-config` prints resolved aliases with keys masked."""
    monkeypatch.setenv("GKEY", "AIzaSyVERYSECRETKEY1234")
    entry = "{model: gemini/gemini-3.1-flash-live-preview, api_key: os.environ/GKEY}"
    path = write(tmp_path, f"model_list:\n  - model_name: a\n    litellm_params: {entry}\n")
    assert main(["check-config", "--verbose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "VERYSECRET" not in out
    (deployment,) = json.loads(out.rsplit("\n", 2)[0])["aliases"]["a"]
    assert deployment["api_key"] == "****1234" and deployment["profile"]["user_text"] == "realtime_text"


def test_serve_refuses_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`livegate serve` with a bad config exits 2 with the precise message, without starting."""
    path = write(tmp_path, "model_list:\n  - model_name: a\n    litellm_params: {model: nope}\n")
    assert main(["serve", "--config", str(path)]) == 2
    assert "model_list[0] ('a')" in capsys.readouterr().err


def test_accounts_settings(tmp_path: Path) -> None:
    """database_url: default beside the config with a master key, relative SQLite paths from the config's
    directory, `null` for none; model_info prices with LiteLLM names; origins and metrics key."""
    head = "model_list:\n  - model_name: a\n    litellm_params: {model: emulator/gemini-3.1-flash-live-preview}\n"
    head += "    model_info: {input_cost_per_audio_token: 0.000004}\n"
    config = load_config(write(tmp_path, head + "general_settings: {master_key: k}\n"), {})
    assert config.accounts.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'livegate.db'}"
    assert config.deployments["a"][0].price.input_audio == pytest.approx(4.0)  # type: ignore[union-attr]
    assert load_config(write(tmp_path, head), {}).accounts.database_url is None  # no master key: no database
    off = load_config(write(tmp_path, head + "general_settings: {master_key: k, database_url: null}\n"), {})
    assert off.accounts.database_url is None
    env = "general_settings: {master_key: k, database_url: os.environ/DATABASE_URL, metrics_key: m,"
    env += " allowed_origins: ['https://a.example'], store_transcripts: true}\n"
    config = load_config(write(tmp_path, head + env), {"DATABASE_URL": "postgres://u:secret@db/lg"})
    accounts = config.accounts
    assert accounts.database_url == "postgresql+asyncpg://u:secret@db/lg" and "secret" not in repr(accounts)
    assert accounts.describe()["database"] == "postgresql+asyncpg://u:****@db/lg" and accounts.store_transcripts
    assert accounts.allowed_origins == ("https://a.example",) and accounts.metrics_key == "m"
    relative = load_config(write(tmp_path, head + "general_settings: {database_url: 'sqlite:///data/x.db'}\n"), {})
    assert relative.accounts.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'data/x.db'}"


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ("{database_url: 'mysql://db/x'}", "general_settings.database_url: unsupported database 'mysql'"),
        ("{allowed_origins: ['app.example.com']}", "general_settings.allowed_origins"),
        ("{proxy_batch_write_at: 0}", "general_settings.proxy_batch_write_at"),
        ("{metrics_key: ' '}", "general_settings.metrics_key"),
    ],
)
def test_accounts_settings_errors(tmp_path: Path, settings: str, needle: str) -> None:
    """Bad accounts settings fail at start-up naming the field."""
    text = "model_list:\n  - model_name: a\n    litellm_params: {model: emulator/x}\n"
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        load_config(write(tmp_path, text + f"general_settings: {settings}\n"), {})


def test_transcription_mode_and_default_alias(tmp_path: Path) -> None:
    """model_info.mode realtime_transcription marks the alias `?intent=transcription` gets by default; on a
    conversational model it is a start-up error naming the entry."""
    path = write(
        tmp_path,
        """
model_list:
  - model_name: talk
    litellm_params: {model: emulator/gemini-3.1-flash-live-preview}
  - model_name: listen
    litellm_params: {model: emulator/gemini-3.5-transcribe-live}
    model_info: {mode: realtime_transcription}
""",
    )
    config = load_config(path, {})
    assert config.transcription_alias == "listen" and config.deployments["listen"][0].mode == "realtime_transcription"
    bad = write(
        tmp_path,
        """
model_list:
  - model_name: talk
    litellm_params: {model: emulator/gemini-3.1-flash-live-preview}
    model_info: {mode: realtime_transcription}
""",
    )
    with pytest.raises(ConfigError, match=r"model_list\[0\] \('talk'\): model_info.mode: realtime_transcription needs"):
        load_config(bad, {})
