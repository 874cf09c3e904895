"""gateway/cli.py, gateway/ops/banner.py, gateway/accounts/exposure.py: what a newcomer sees in the first hour."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway import __version__
from gateway.accounts.exposure import check_exposure, is_loopback
from gateway.cli import build_parser, main
from gateway.config import load_config
from gateway.ops.banner import Serving, base_url, startup_lines

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "config.yaml"
SECRET = "AIzaSyBANNERSECRET000000000000000000abcd"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`livegate --version` prints the installed version."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"livegate {__version__}\n"


def test_help_shows_defaults_and_env_vars(capsys: pytest.CaptureFixture[str]) -> None:
    """`livegate serve --help` shows each default and the variable that overrides it."""
    with pytest.raises(SystemExit):
        main(["serve", "--help"], environ={})
    text = " ".join(capsys.readouterr().out.split())
    assert "--host HOST address to listen on ($HOST) (default: 127.0.0.1)" in text
    assert "--port PORT port to listen on ($PORT) (default: 4000)" in text
    assert "--config CONFIG YAML config with a model_list ($LIVEGATE_CONFIG)" in text
    assert "--allow-unauthenticated" in text


def test_environment_supplies_defaults() -> None:
    """LIVEGATE_CONFIG, HOST and PORT are the defaults containers set; flags still win."""
    environ = {"LIVEGATE_CONFIG": "/etc/livegate.yaml", "HOST": "0.0.0.0", "PORT": "8080"}
    args = build_parser(environ).parse_args(["serve"])
    assert (args.config, args.host, args.port) == ("/etc/livegate.yaml", "0.0.0.0", 8080)
    args = build_parser(environ).parse_args(["serve", "--port", "9000", "--host", "127.0.0.1"])
    assert (args.host, args.port) == ("127.0.0.1", 9000)
    assert build_parser(environ).parse_args(["check-config"]).config == "/etc/livegate.yaml"


def test_workers_flag_and_variable(capsys: pytest.CaptureFixture[str]) -> None:
    """--workers defaults to $WEB_CONCURRENCY, then 1; a bad count is named with where it came from."""
    assert build_parser({}).parse_args(["serve"]).workers == 1
    assert build_parser({"WEB_CONCURRENCY": "3"}).parse_args(["serve"]).workers == 3
    with pytest.raises(SystemExit):
        main(["serve", "--config", str(EXAMPLE), "--workers", "0"], environ={})
    assert "argument --workers: 0 workers: expected 1 to 256" in capsys.readouterr().err


def test_a_bad_port_variable_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    """PORT=abc is refused with a message that says where a port comes from."""
    with pytest.raises(SystemExit):
        main(["serve", "--config", str(EXAMPLE)], environ={"PORT": "abc"})
    assert "argument --port: 'abc' is not a port number (from --port or $PORT)" in capsys.readouterr().err


def test_serve_without_a_config_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    """No --config and no LIVEGATE_CONFIG: exit 2 with how to give one."""
    assert main(["serve"], environ={}) == 2
    assert capsys.readouterr().err == "livegate: no config file: pass --config FILE or set LIVEGATE_CONFIG\n"


def keyless(tmp_path: Path) -> Path:
    path = tmp_path / "open.yaml"
    path.write_text("model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-live-preview}}\n")
    return path


def test_no_key_off_loopback_refuses_to_start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No master_key and --host 0.0.0.0: exit 2 before listening, saying how to set a key or opt out."""
    path = keyless(tmp_path)
    assert main(["serve", "--config", str(path), "--host", "0.0.0.0"], environ={}) == 2
    err = capsys.readouterr().err
    assert err.startswith("livegate: refusing to serve on 0.0.0.0 without a gateway key: anyone who reaches")
    assert f"Set one in {path}:" in err and "master_key: os.environ/LIVEGATE_MASTER_KEY" in err
    assert "--allow-unauthenticated" in err


def test_exposure_rules() -> None:
    """Loopback: a warning; off loopback: refused, or loud warnings with --allow-unauthenticated; a key: silence."""
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost", "0.0.0.0", "::", "example.com")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip
    assert check_exposure(True, "0.0.0.0", False, "c.yaml").refusal is None
    assert check_exposure(True, "0.0.0.0", False, "c.yaml").warnings == ()
    local = check_exposure(False, "127.0.0.1", False, "c.yaml")
    assert local.refusal is None and local.warnings[0].startswith("no general_settings.master_key in c.yaml")
    allowed = check_exposure(False, "0.0.0.0", True, "c.yaml")
    assert allowed.refusal is None and allowed.warnings[0].startswith("AUTHENTICATION IS OFF on 0.0.0.0")
    assert check_exposure(False, "0.0.0.0", False, "c.yaml").refusal


def test_startup_lines_mask_secrets_and_use_wss_with_tls(tmp_path: Path) -> None:
    """Every alias with provider/model; keys and api_base queries masked; wss:// under TLS; auth and limits."""
    path = tmp_path / "c.yaml"
    path.write_text(
        "model_list:\n"
        f"  - {{model_name: prod, litellm_params: {{model: gemini/gemini-3.1-flash-live-preview, api_key: {SECRET}, "
        f"api_base: 'https://proxy.example/?key={SECRET}'}}}}\n"
        "  - {model_name: prod, litellm_params: {model: vertex_ai/gemini-live-2.5-flash, vertex_project: p, "
        "vertex_location: global}}\n"
        "general_settings: {master_key: sk-1, limits: {max_sessions: 40, idle_timeout_seconds: 120}}\n"
    )
    config = load_config(path, {})
    lines = startup_lines(Serving(config, config.limits, base_url("127.0.0.1", 4443, tls=True)))
    text = "\n".join(lines)
    assert SECRET not in text and "abcd" in text
    assert lines[0] == f"livegate {__version__} serving wss://127.0.0.1:4443/v1/realtime?model=<alias>"
    assert lines[1] == "  open https://127.0.0.1:4443/ and talk"  # the console page, right after the URL
    assert lines[3] == (
        "  prod  -> gemini/gemini-3.1-flash-live-preview (api_key ****abcd, api_base https://proxy.example/?****); "
        "then vertex_ai/gemini-live-2.5-flash (project p, global, credentials application default)"
    )
    assert "  auth: on (general_settings.master_key)" in lines
    assert "idle timeout 120 s, sessions 40 (unlimited per key)" in text
    assert base_url("::1", 4000, tls=False) == "ws://[::1]:4000"


def test_serve_prints_url_and_aliases_once_listening(tmp_path: Path) -> None:
    """`livegate serve` with the example config: the URL, each alias, auth and limits, after uvicorn listens;
    the built-in emulator's port is not on an INFO line. The config is copied out so its SQLite file is
    made in tmp_path, not in the checkout."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    config = tmp_path / "config.yaml"
    config.write_text(EXAMPLE.read_text())
    command = [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config), "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "vertex passthrough:" in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=15)
    messages = [line.split(" livegate: ", 1)[1] for line in lines if " INFO livegate: " in line]
    listening = next(n for n, line in enumerate(lines) if "Uvicorn running on" in line)
    assert lines.index(next(line for line in lines if " INFO livegate: " in line)) > listening
    port = messages[0].split(":")[2].split("/")[0]
    assert messages[0] == f"livegate {__version__} serving ws://127.0.0.1:{port}/v1/realtime?model=<alias>"
    aliases = [m.split("->")[0].strip() for m in messages if "->" in m]
    assert aliases == ["gemini-live", "gemini-3.1-live", "gemini-live-text", "gemini-transcribe"]
    assert "  gemini-3.1-live    -> emulator/gemini-3.1-flash-live-preview (built-in emulator)" in messages
    assert "  auth: on (general_settings.master_key)" in messages
    assert any(m.startswith("  limits: 3600 s per session") for m in messages)
    assert not [line for line in lines if "INFO" in line and "emulator listening" in line]


def test_a_sqlite_file_in_a_missing_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`sqlite:///tmp/x.db` is relative to the config's folder (SQLAlchemy's three slashes): serve and db upgrade
    say which folder is missing and how to write an absolute path, before any listening or traceback."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-flash-live-preview}}\n"
        "general_settings: {master_key: sk-m, database_url: 'sqlite:///no/such/folder/x.db'}\n"
    )
    missing = tmp_path / "no" / "such" / "folder"
    handlers = logging.getLogger().handlers[:]  # refused before logging is set up (on pytest's captured stderr)
    for argv in (["serve", "--config", str(path), "--port", "0"], ["db", "upgrade", "--config", str(path)]):
        assert main(argv, environ={}) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"livegate: cannot create the SQLite file {missing / 'x.db'}: the folder {missing}")
        assert "sqlite+aiosqlite:////abs/path.db" in err and "Traceback" not in err and err.count("\n") == 1
    assert not missing.exists() and logging.getLogger().handlers == handlers


def test_tls_files_that_cannot_serve_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing, non-PEM or mismatched certificate or key: serve and the emulator exit 2 with one line naming the
    file (uvicorn's FileNotFoundError traceback named none), before any listening."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    pem, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(pem))
    cert.private_key_pem.write_to_path(str(key))
    other_key = tmp_path / "other.key"
    ca.issue_cert("localhost").private_key_pem.write_to_path(str(other_key))
    missing = tmp_path / "missing.key"
    cases = {
        (str(pem), str(missing)): f"--ssl-keyfile {missing}: No such file or directory",
        (str(EXAMPLE), str(key)): f"cannot serve TLS with the certificate {EXAMPLE} and the key {key} (",
        (str(pem), str(other_key)): f"cannot serve TLS with the certificate {pem} and the key {other_key} (",
    }
    for (certfile, keyfile), words in cases.items():
        tls = ["--ssl-certfile", certfile, "--ssl-keyfile", keyfile, "--port", "0"]
        assert main(["serve", "--config", str(EXAMPLE), *tls], environ={}) == 2
        assert main(["emulator", *tls]) == 2
        serve_err, emulator_err = capsys.readouterr().err.splitlines()
        assert serve_err.startswith(f"livegate: {words}") and emulator_err.startswith(f"livegate emulator: {words}")
    assert "both must be PEM" in serve_err


def test_an_unreachable_postgres_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """serve with a Postgres nobody answers: one line naming the database (never its password), exit 1, before
    any listening or traceback."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "config.yaml"
    path.write_text(
        "model_list:\n  - {model_name: a, litellm_params: {model: emulator/gemini-3.1-flash-live-preview}}\n"
        f"general_settings: {{master_key: sk-m, database_url: 'postgresql://lg:s3cret-pw@127.0.0.1:{port}/lg'}}\n"
    )
    assert main(["serve", "--config", str(path), "--port", "0"], environ={}) == 1
    err = capsys.readouterr().err
    assert err.startswith("livegate: cannot open the database postgresql+asyncpg://lg:***@127.0.0.1:"), err
    assert "s3cret-pw" not in err and "Traceback" not in err and err.count("\n") == 1
