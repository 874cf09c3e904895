"""gateway/config.py for real upstreams: Vertex defaults from config and env (seed 000), passthrough settings."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def key_file(tmp_path: Path, name: str) -> str:
    """A credentials file the loader accepts (its shape is checked at start-up; Google is never asked here)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "service_account", "project_id": "p"}))
    return str(path)


def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DEFAULT_VERTEXAI_PROJECT": "env-proj",
        "DEFAULT_VERTEXAI_LOCATION": "europe-west4",
        "DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": key_file(tmp_path, "env-sa.json"),
    }


def test_vertex_values_come_from_entry_then_defaults_then_env(tmp_path: Path) -> None:
    """litellm_params win over default_vertex_config, then DEFAULT_VERTEXAI_* (emulator entries untouched)."""
    cfg_sa = key_file(tmp_path, "cfg-sa.json")
    path = write(
        tmp_path,
        f"""
model_list:
  - model_name: a
    litellm_params: {{model: vertex_ai/gemini-live-2.5-flash, vertex_project: own, vertex_location: global}}
  - model_name: b
    litellm_params: {{model: vertex_ai/gemini-live-2.5-flash}}
  - model_name: c
    litellm_params: {{model: emulator/gemini-3.1-flash-live-preview}}
litellm_settings:
  default_vertex_config: {{vertex_credentials: {cfg_sa}}}
""",
    )
    config = load_config(path, env(tmp_path))
    (a,), (b,), (c,) = config.deployments["a"], config.deployments["b"], config.deployments["c"]
    assert (a.vertex_project, a.vertex_location, a.vertex_credentials) == ("own", "global", cfg_sa)
    assert (b.vertex_project, b.vertex_location) == ("env-proj", "europe-west4")
    assert c.vertex_project is None and c.vertex_credentials is None
    assert "cfg-sa" not in repr(a) and a.describe()["vertex_credentials"] == "****json"


def test_passthrough_settings(tmp_path: Path) -> None:
    """general_settings.vertex_passthrough, else default_vertex_config, else env (seed 000)."""
    path = write(
        tmp_path,
        """
model_list:
  - model_name: a
    litellm_params: {model: emulator/gemini-3.1-flash-live-preview}
general_settings:
  vertex_passthrough: {api_base: "http://127.0.0.1:4100", vertex_location: us}
litellm_settings:
  default_vertex_config: {vertex_project: cfg-proj}
""",
    )
    environ = env(tmp_path)
    settings = load_config(path, environ).passthrough
    assert (settings.api_base, settings.project, settings.location) == ("http://127.0.0.1:4100", "cfg-proj", "us")
    assert settings.credentials == environ["DEFAULT_GOOGLE_APPLICATION_CREDENTIALS"]
    bare = load_config(write(tmp_path, "model_list:\n  - {model_name: a, litellm_params: {model: emulator/x}}\n"), {})
    assert bare.passthrough.project is None and bare.passthrough.credentials is None


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ("{model: vertex_ai/gemini-live-2.5-flash}", "vertex_project: a Google Cloud project is required"),
        ("{model: vertex_ai/x, vertex_project: p, vertex_location: 'evil.com/x'}", "vertex_location"),
        ("{model: gemini/x, api_key: k, api_base: 'ftp://x'}", "litellm_params.api_base"),
        ("{model: gemini/x, api_key: k, api_version: '../v1'}", "litellm_params.api_version"),
    ],
)
def test_bad_vertex_entries_fail_at_load(tmp_path: Path, params: str, needle: str) -> None:
    """A Vertex entry without a project, or a location/base/version that would bend the URL, fails at start-up."""
    with pytest.raises(ConfigError, match="model_list\\[0\\]") as info:
        load_config(write(tmp_path, f"model_list:\n  - model_name: a\n    litellm_params: {params}\n"), {})
    assert needle in str(info.value)


def test_express_mode_needs_no_project(tmp_path: Path) -> None:
    """vertex_ai/ with an api_key and no project is Vertex express mode (§1.2)."""
    path = write(tmp_path, "model_list:\n  - model_name: a\n    litellm_params: {model: vertex_ai/m, api_key: k}\n")
    (deployment,) = load_config(path, {}).deployments["a"]
    assert deployment.vertex_project is None and deployment.api_key == "k"


def test_mixed_fallback_profiles_are_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Fallbacks that take user text differently from the first deployment get a start-up warning."""
    caplog.set_level(logging.WARNING, logger="livegate.config")
    path = write(
        tmp_path,
        """
model_list:
  - {model_name: a, litellm_params: {model: gemini/gemini-2.5-flash-native-audio-preview-12-2025, api_key: k}}
  - {model_name: a, litellm_params: {model: gemini/gemini-3.1-flash-live-preview, api_key: k}}
  - {model_name: a, litellm_params: {model: gemini/gemini-2.5-flash-native-audio-latest, api_key: k}}
  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-flash-live-preview}, model_info: {rest_fallback: x}}
""",
    )
    config = load_config(path, {})
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and "gemini/gemini-3.1-flash-live-preview differs" in warnings[0]
    assert "user_text" in warnings[0] and config.deployments["a"][3].rest_fallback == "x"


def test_check_config_prints_passthrough_and_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`livegate check-config` shows the passthrough's upstream (credentials masked) and each alias's profile."""
    monkeypatch.setenv("DEFAULT_VERTEXAI_PROJECT", "env-proj")
    monkeypatch.setenv("DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", key_file(tmp_path, "secret/dir/service-account.json"))
    entries = "model_list:\n  - {model_name: a, litellm_params: {model: vertex_ai/gemini-live-2.5-flash}}\n"
    path = write(tmp_path, entries)
    assert main(["check-config", "--verbose", str(path)]) == 0
    out = capsys.readouterr().out
    printed = json.loads(out.rsplit("\n", 2)[0])
    assert printed["vertex_passthrough"]["vertex_project"] == "env-proj" and "secret/dir" not in out
    assert printed["aliases"]["a"][0]["profile"]["user_text"] == "client_content"
