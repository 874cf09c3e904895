"""The README's promises a newcomer tries first: its Python snippet runs as pasted, its start-up sample is real."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from starlette.routing import Mount, Route, WebSocketRoute

from gateway.app import create_app
from gateway.config import load_config
from gateway.ops.banner import Serving, base_url, startup_lines
from tests.support.live import MASTER_KEY, LiveGateway

README = (Path(__file__).parents[2] / "README.md").read_text()


def python_block(after: str) -> str:
    section = README[README.index(after) :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_python_snippet_runs_as_pasted(gateway: LiveGateway) -> None:
    """The snippet, with only the address and key of this test's gateway swapped in, prints the emulator's reply."""
    code = python_block("## Use it from an OpenAI client")
    assert 'base_url="http://127.0.0.1:4000/v1"' in code and 'api_key="sk-livegate-dev"' in code
    code = code.replace("http://127.0.0.1:4000/v1", gateway.http_base).replace("sk-livegate-dev", MASTER_KEY)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "You said: Hello\n"


def test_the_readme_names_what_a_newcomer_needs() -> None:
    """Prerequisites, make variables, endpoints, the emulator recipe and the test-certificate recipe are there."""
    for needle in (
        "Python ≥ 3.11 with `venv`",
        "Node ≥ 18 with `npm`",
        "make run HOST=0.0.0.0 PORT=8080 CONFIG=my-config.yaml",
        "`GET /health`",
        "`GET /v1/models`",
        "python -m trustme",
        "api_base: http://127.0.0.1:4100",
        "--allow-unauthenticated",
        "LIVEGATE_CONFIG",
    ):
        assert needle in README, needle


def test_the_start_up_sample_is_what_make_run_prints() -> None:
    """The README's start-up lines are what `make run` prints for examples/config.yaml (the version and the
    passthrough's credentials, which depend on the machine, aside)."""
    section = README[README.index("Once listening, `livegate serve` says what it serves") :]
    match = re.search(r"```\n(.*?)```", section, re.S)
    assert match is not None
    config = load_config(Path(__file__).parents[2] / "examples" / "config.yaml", {})
    printed = startup_lines(Serving(config, config.limits, base_url("127.0.0.1", 4000, tls=False)))

    def comparable(lines: list[str]) -> list[str]:
        return [re.sub(r"^livegate \S+", "livegate V", line) for line in lines if "vertex passthrough" not in line]

    assert comparable(match.group(1).splitlines()) == comparable(printed)


def test_the_endpoints_table_lists_every_route() -> None:
    """Every path the app routes (WebSocket, HTTP, mounts) appears in the README's Endpoints table."""
    section = README[README.index("## Endpoints") : README.index("## Command line")]
    config = load_config(Path(__file__).parents[2] / "examples" / "config.yaml", {})
    paths = {route.path for route in create_app(config).routes if isinstance(route, Route | WebSocketRoute | Mount)}
    assert {"/v1/realtime", "/v1/realtime/calls", "/metrics", "/key/generate", "/health/readiness"} <= paths
    missing = sorted(path for path in paths if f"{path}`" not in section and f"{path}?" not in section)
    assert not missing, f"routes missing from the README's Endpoints table: {missing}"
