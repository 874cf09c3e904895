"""Each config mistake a newcomer makes gets one precise start-up message (issue #9), and a LiteLLM user's
file still loads with one warning per key livegate ignores; no message ever shows a secret (issue #16)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import ConfigError, GatewayConfig, load_config

EMULATOR = "- model_name: gemini-live\n    litellm_params: {model: emulator/gemini-3.1-flash-live-preview}\n"
SECRET = "AIzaSyTOPSECRETKEY00000000000000000000"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return str(info.value).replace(str(path), "FILE")


def loaded(tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture) -> tuple[GatewayConfig, list[str]]:
    caplog.set_level(logging.WARNING, logger="livegate.config")
    path = write(tmp_path, text)
    config = load_config(path, {})
    return config, [r.getMessage().replace(str(path), "FILE") for r in caplog.records]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("master_kye: sk-1", "FILE: general_settings.master_kye: unknown field (did you mean 'master_key'?)"),
        ("limts: {max_sessions: 5}", "FILE: general_settings.limts: unknown field (did you mean 'limits'?)"),
        (
            "limits: {max_sesions: 5}",
            "FILE: general_settings.limits.max_sesions: unknown field (did you mean 'max_sessions'?)",
        ),
        ("shiny_new_thing: 1", "FILE: general_settings.shiny_new_thing: unknown field"),
        (
            "vertex_passthrough: {vertex_projct: p}",
            "FILE: general_settings.vertex_passthrough.vertex_projct: unknown field (did you mean 'vertex_project'?)",
        ),
        ('master_key: ""', "FILE: general_settings.master_key: String should have at least 1 character"),
        (
            "redis_url: http://cache:6379",
            "FILE: general_settings.redis_url: expected a URL such as redis://host:6379/0, rediss://… (TLS) or "
            "unix:///path/valkey.sock",
        ),
        (
            "redis_lease_seconds: 0.5",
            "FILE: general_settings.redis_lease_seconds: Input should be greater than or equal to 1",
        ),
    ],
)
def test_general_settings_typos_are_errors(tmp_path: Path, settings: str, message: str) -> None:
    """A typo in general_settings (no auth, no limits) stops the start, naming the field and the near miss."""
    assert refused(tmp_path, f"model_list:\n  {EMULATOR}general_settings:\n  {settings}\n") == message


def test_model_info_typo_is_an_error(tmp_path: Path) -> None:
    """`contxt_compression:` names the entry, its alias and the profile field it missed."""
    text = f"model_list:\n  {EMULATOR}    model_info: {{mode: realtime, contxt_compression: false}}\n"
    assert refused(tmp_path, text) == (
        "FILE: model_list[0] ('gemini-live'): model_info.contxt_compression: unknown field "
        "(did you mean 'context_compression'?)"
    )


def test_top_level_and_litellm_params_typos_are_errors(tmp_path: Path) -> None:
    """Unknown keys at the top level and in litellm_params are errors too, one line each."""
    text = (
        "model_list:\n  - model_name: a\n    litellm_params: {model: emulator/gemini-3.1-flash-live-preview, "
        "vertex_locaton: us}\ngeneral_setting: {master_key: k}\n"
    )
    assert refused(tmp_path, text).splitlines() == [
        "FILE: model_list[0] ('a'): litellm_params.vertex_locaton: unknown field (did you mean 'vertex_location'?)",
        "FILE: general_setting: unknown field (did you mean 'general_settings'?)",
    ]


def test_litellm_settings_near_miss_is_an_error(tmp_path: Path) -> None:
    """In litellm_settings LiteLLM's own entries are ignored, but a typo of livegate's entry is not."""
    text = f"model_list:\n  {EMULATOR}litellm_settings:\n  default_vertex_confg: {{vertex_project: p}}\n"
    assert refused(tmp_path, text) == (
        "FILE: litellm_settings.default_vertex_confg: unknown field (did you mean 'default_vertex_config'?)"
    )


LITELLM_FILE = f"""
model_list:
  - model_name: gpt-4o
    litellm_params: {{model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY, rpm: 60}}
    model_info: {{mode: chat}}
  {EMULATOR}    model_info: {{mode: realtime, id: live-1}}
  - model_name: embed
    litellm_params: {{model: openai/text-embedding-3-small}}
    model_info: {{mode: embedding}}
router_settings: {{routing_strategy: simple-shuffle, redis_password: os.environ/REDIS_PASSWORD}}
litellm_settings: {{drop_params: true, set_verbose: false}}
general_settings: {{master_key: sk-1, store_model_in_db: os.environ/STORE_MODEL_IN_DB}}
"""


def test_a_litellm_file_loads_with_one_warning_per_ignored_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """router_settings, unused litellm_settings and general_settings keys, non-realtime entries: warnings;
    their os.environ/ references need not be set."""
    config, warnings = loaded(tmp_path, LITELLM_FILE, caplog)
    assert list(config.deployments) == ["gemini-live"] and config.master_key == "sk-1"
    unused = "a LiteLLM setting livegate does not use; ignored"
    assert warnings == [
        f"FILE: router_settings: {unused}",
        f"FILE: general_settings.store_model_in_db: {unused}",
        f"FILE: litellm_settings.drop_params: {unused}",
        f"FILE: litellm_settings.set_verbose: {unused}",
        "FILE: model_list[0] ('gpt-4o'): mode 'chat' is not realtime; livegate serves realtime models only, skipped",
        f"FILE: model_list[1] ('gemini-live'): model_info.id: {unused}",
        "FILE: model_list[2] ('embed'): mode 'embedding' is not realtime; livegate serves realtime models only, "
        "skipped",
    ]


def test_errors_name_the_entry_as_written_after_skipped_entries(tmp_path: Path) -> None:
    """An error in the third entry says model_list[2] even though the chat entry before it was skipped."""
    text = (
        "model_list:\n  - {model_name: c, litellm_params: {model: openai/gpt-4o}, model_info: {mode: chat}}\n"
        f"  {EMULATOR}  - {{model_name: bad, litellm_params: {{model: emulator/x, api_version: '../v1'}}}}\n"
    )
    assert refused(tmp_path, text) == (
        "FILE: model_list[2] ('bad'): litellm_params.api_version: expected an API version such as v1beta or "
        "v1beta1, got '../v1'"
    )


def test_only_chat_entries_is_an_error(tmp_path: Path) -> None:
    """A file with no realtime entry at all says so."""
    text = "model_list:\n  - {model_name: c, litellm_params: {model: openai/gpt-4o}, model_info: {mode: chat}}\n"
    assert refused(tmp_path, text) == (
        "FILE: model_list: no realtime model entries (livegate serves gemini/, vertex_ai/ and emulator/ models "
        "with model_info.mode realtime or no mode)"
    )


def test_an_openai_entry_without_mode_explains_how_to_skip_it(tmp_path: Path) -> None:
    """Other providers are refused unless marked non-realtime; the message says how, without pydantic's prefix."""
    message = refused(tmp_path, "model_list:\n  - {model_name: a, litellm_params: {model: openai/gpt-4o}}\n")
    assert message == (
        "FILE: model_list[0] ('a'): litellm_params.model: expected '<provider>/<model id>' with provider one of "
        "gemini, vertex_ai, emulator, got 'openai/gpt-4o' (a LiteLLM entry livegate should skip needs its "
        "model_info.mode, e.g. chat)"
    )
    assert "Value error" not in message


def test_env_var_errors_name_the_alias(tmp_path: Path) -> None:
    """`model_list[0] ('gemini-live'): litellm_params.api_key: environment variable X is not set`."""
    text = "model_list:\n  - model_name: gemini-live\n    litellm_params:\n"
    text += "      {model: gemini/gemini-3.1-flash-live-preview, api_key: os.environ/X}\n"
    assert refused(tmp_path, text) == (
        "FILE: model_list[0] ('gemini-live'): litellm_params.api_key: environment variable X is not set"
    )


def test_yaml_syntax_error_names_line_and_column_and_hides_the_line(tmp_path: Path) -> None:
    """A YAML syntax error: file:line:column and the parser's problem; the line (which holds a key) is not shown."""
    text = f"model_list:\n  {EMULATOR}general_settings:\n  master_key: {SECRET}\n   broken: [\n"
    message = refused(tmp_path, text)
    assert message == "FILE:6:10: not valid YAML: mapping values are not allowed here" and SECRET not in message
    tab = refused(tmp_path, f"model_list:\n\t- x: {SECRET}\n")
    assert tab == (
        "FILE:2:1: not valid YAML: while scanning for the next token, found character '\\t' that cannot start any token"
    )


def test_api_base_error_does_not_print_it(tmp_path: Path) -> None:
    """An api_base that is not a URL (here with a key in its query) is refused without echoing it."""
    entry = f"{{model: gemini/gemini-3.1-flash-live-preview, api_key: k, api_base: 'generativelanguage?key={SECRET}'}}"
    message = refused(tmp_path, f"model_list:\n  - model_name: a\n    litellm_params: {entry}\n")
    assert message == (
        "FILE: model_list[0] ('a'): litellm_params.api_base: expected an http(s):// or ws(s):// URL with a host"
    )


def test_vertex_credentials_are_checked_at_start_up(tmp_path: Path) -> None:
    """A missing or unreadable credentials file, or broken inline JSON, fails at load, not at the first call."""
    head = "model_list:\n  - model_name: v\n    litellm_params:\n"
    head += "      {model: vertex_ai/gemini-live-2.5-flash, vertex_project: p, "
    missing = str(tmp_path / "nope.json")
    assert refused(tmp_path, f"{head}vertex_credentials: {missing}}}\n") == (
        f"FILE: model_list[0] ('v'): litellm_params.vertex_credentials: cannot read the credentials file "
        f"'{missing}': No such file or directory"
    )
    assert refused(tmp_path, f"{head}vertex_credentials: {tmp_path}}}\n") == (
        f"FILE: model_list[0] ('v'): litellm_params.vertex_credentials: cannot read the credentials file "
        f"'{tmp_path}': Is a directory"
    )
    inline = json.dumps(json.dumps({"private_key": SECRET}))[:-2] + '"'  # cut short: not JSON
    message = refused(tmp_path, f"{head}vertex_credentials: {inline}}}\n")
    assert message == (
        "FILE: model_list[0] ('v'): litellm_params.vertex_credentials: not Google credentials JSON "
        "(a service-account or ADC key file with a 'type')"
    )
    assert refused(tmp_path, f"model_list:\n  {EMULATOR}", {"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS": SECRET}) == (
        "FILE: DEFAULT_GOOGLE_APPLICATION_CREDENTIALS: cannot read the credentials file: No such file or directory"
    )


def test_unknown_model_warns_with_the_profile_it_falls_back_to(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A model id livegate does not know loads with the default profile, and the warning says what it assumes."""
    text = "model_list:\n  - {model_name: next, litellm_params: {model: emulator/gemini-9-live}}\n"
    config, warnings = loaded(tmp_path, text, caplog)
    assert config.deployments["next"][0].model_id == "gemini-9-live"
    assert warnings == [
        "FILE: model_list[0] ('next'): model 'gemini-9-live' is not in livegate's model table (schemas/profiles.py); "
        "using the default profile (text_output: False, user_text: realtime_text, history_at_start_only: True, "
        "thinking: none); set model_info fields to describe it"
    ]


def test_gemini_api_key_comes_from_the_environment(tmp_path: Path) -> None:
    """A gemini/ entry without api_key takes GEMINI_API_KEY, as in LiteLLM; without either, the message says so."""
    text = "model_list:\n  - {model_name: g, litellm_params: {model: gemini/gemini-3.1-flash-live-preview}}\n"
    config = load_config(write(tmp_path, text), {"GEMINI_API_KEY": SECRET})
    assert config.deployments["g"][0].api_key == SECRET
    assert refused(tmp_path, text) == (
        "FILE: model_list[0] ('g'): litellm_params.api_key: a Gemini API key is required for gemini/ models "
        "(set api_key, e.g. api_key: os.environ/GEMINI_API_KEY, or the GEMINI_API_KEY variable)"
    )


def test_check_config_ends_with_one_summary_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`livegate check-config` prints one summary line; the JSON only with --verbose, secrets masked."""
    text = f"model_list:\n  {EMULATOR}  - {{model_name: g, litellm_params:\n"
    text += f"      {{model: gemini/gemini-3.1-flash-live-preview, api_key: {SECRET}}}}}\n"
    text += "general_settings: {master_key: sk-1, limits: {max_sessions: 50}}\n"
    path = write(tmp_path, text)
    assert main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"OK: {path}: 2 aliases (gemini-live, g), auth on, max 50 sessions"]
    assert main(["check-config", "--verbose", str(path)]) == 0
    verbose = capsys.readouterr().out
    assert SECRET not in verbose and verbose.splitlines()[-1].startswith("OK: ")
    assert json.loads(verbose.rsplit("\n", 2)[0])["aliases"]["g"][0]["api_key"] == "****0000"


def test_profile_overrides_are_type_checked(tmp_path: Path) -> None:
    """A model_info override of the wrong type names the field and what it expects."""
    info = "{thinking: lots, context_window: big, user_text: client_content}"
    text = f"model_list:\n  {EMULATOR}    model_info: {info}\n"
    assert refused(tmp_path, text).splitlines() == [
        "FILE: model_list[0] ('gemini-live'): model_info.thinking: Input should be 'none', 'budget', 'level' or "
        "'level_required'",
        "FILE: model_list[0] ('gemini-live'): model_info.context_window: Input should be a valid integer, unable to "
        "parse string as an integer",
    ]
    good = write(tmp_path, f"model_list:\n  {EMULATOR}    model_info: {{user_text: client_content}}\n")
    config = load_config(good, {})
    assert config.deployments["gemini-live"][0].profile.user_text.value == "client_content"


def test_values_from_the_environment_are_never_echoed(tmp_path: Path) -> None:
    """A secret put in the wrong variable (here a key as the location) is named by its variable, not shown."""
    text = "model_list:\n  - {model_name: v, litellm_params: {model: vertex_ai/gemini-live-2.5-flash, "
    text += "vertex_project: p, vertex_location: os.environ/LOC}}\n"
    assert refused(tmp_path, text, {"LOC": SECRET}) == (
        "FILE: model_list[0] ('v'): litellm_params.vertex_location: expected a Vertex AI location such as "
        "us-central1 or global, got the value of LOC"
    )


def test_empty_sections_mean_their_defaults(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`general_settings:` or `litellm_settings:` with nothing under them (as LiteLLM files often have) load."""
    config, _ = loaded(tmp_path, f"model_list:\n  {EMULATOR}general_settings:\nlitellm_settings:\n", caplog)
    assert list(config.deployments) == ["gemini-live"] and config.master_key is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "model_list:\n  - model_name: a\n    litellm_params:\n",
            "FILE: model_list[0] ('a'): litellm_params: must be a mapping of fields (it is empty)",
        ),
        (f"model_list:\n  {EMULATOR}general_settings:\n  limits: 3\n", "FILE: general_settings.limits: must be a "
         "mapping of fields"),
        (
            f"model_list:\n  {EMULATOR}general_settings:\n  webrtc:\n    ice_servers:\n      - urls: 5\n",
            "FILE: general_settings.webrtc.ice_servers[0].urls: must be a string or a list",
        ),
    ],
)
def test_wrong_types_are_said_in_plain_words(tmp_path: Path, text: str, message: str) -> None:
    """No pydantic class names or union member tags: the field, with list indices as written, and what it
    takes."""
    assert refused(tmp_path, text) == message
