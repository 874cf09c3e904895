"""`livegate serve` as a real child process (one replica, or a master with `--workers`), for scale-out tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.live import MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, models: list[dict[str, Any]], general: dict[str, Any]) -> Path:
    document = {"model_list": models, "general_settings": {"master_key": MASTER_KEY, **general}}
    path.write_text(yaml.safe_dump(document))
    return path


class GatewayProcess:
    """One `livegate serve` process on its own port; its output goes to a log file, shown when a test fails."""

    def __init__(
        self, name: str, config: Path, log_dir: Path, *, workers: int = 1, launcher: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`launcher`: Python code run with `-c` in place of the `livegate` script (it gets the CLI's argv)."""
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        script = Path(sys.executable).with_name("livegate")
        if launcher is not None:
            command = [sys.executable, "-c", launcher]
        else:
            command = [str(script)] if script.exists() else [sys.executable, "-m", "gateway.cli"]
        argv = [*command, "serve", "--config", str(config), "--port", str(self.port), "--workers", str(workers)]
        self._log = self.log_path.open("wb")
        environ = {**os.environ, "LIVEGATE_LOG_FORMAT": "text", **(env or {})}
        self.popen = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log,
                                      stderr=subprocess.STDOUT, env=environ)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    def wait_ready(self, limit: float = 60.0) -> GatewayProcess:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/health/readiness", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready within {limit:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self._log.close()
