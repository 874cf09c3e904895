"""Subprocesses of a bench run: ports, spawning and reaping, /proc readings, waiting for HTTP answers."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]  # the repository: subprocesses run here so `bench` imports
PY = sys.executable
MASTER_KEY = "sk-bench-master-key"
UPSTREAM_KEY = "bench-upstream-key"  # the emulator runs open; the gateway sends it anyway
ALIAS = "bench-live"
ECHO_ALIAS = "bench-echo"  # the same model preset, dialled at bench/echo_upstream.py (the audio figures)

# --model presets: how the alias reaches the external emulator (GEMINI_LIVE.md §1.1, gateway/upstream/dial.py).
PRESETS: dict[str, dict[str, str]] = {
    # native audio 2.5: text sessions run AUDIO upstream with the transcript as text; clientContent turns
    "audio": {"model": "gemini/gemini-2.5-flash-native-audio-preview-12-2025"},
    # half-cascade model that still emits TEXT (Vertex path, express-mode key)
    "text": {
        "model": "vertex_ai/gemini-2.0-flash-live-preview-04-09",
        "vertex_project": "bench",
        "vertex_location": "us-central1",
    },
    # 3.x: user text goes as realtimeInput.text
    "3.1": {"model": "gemini/gemini-3.1-flash-live-preview"},
}


class BenchError(RuntimeError):
    """A measurement could not be taken; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SPEND_WRITE_S = 2.0  # the keyed gateway's proxy_batch_write_at (the default); each turn round waits for one write


def write_config(directory: Path, emulator_port: int, preset: str, echo_port: int | None = None, *,
                 database: bool = False, batch_s: float = SPEND_WRITE_S) -> Path:
    """The bench config; without `database` the gateway runs on its master key alone (no spend rows; with it,
    they are written every `batch_s`). With `echo_port`, ECHO_ALIAS dials the echo upstream there (the audio
    figures)."""
    def entry(alias: str, port: int) -> dict[str, object]:
        params = {**PRESETS[preset], "api_base": f"http://127.0.0.1:{port}", "api_key": UPSTREAM_KEY}
        return {"model_name": alias, "litellm_params": params}

    general: dict[str, object] = {"master_key": MASTER_KEY, "webrtc": {"host_addresses": ["127.0.0.1"]}}
    if database:
        general["proxy_batch_write_at"] = batch_s
    else:
        general["database_url"] = None
    models = [entry(ALIAS, emulator_port)] + ([entry(ECHO_ALIAS, echo_port)] if echo_port is not None else [])
    document = {"model_list": models, "general_settings": general}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


LITELLM = ROOT / ".venv-litellm" / "bin" / "litellm"  # made by `make bench` (bench/peers/litellm.txt)
LITELLM_READY_S = 120.0  # its proxy imports for 15-30 s on this machine before it answers


def litellm_argv(config: Path, port: int) -> list[str] | None:
    """LiteLLM's proxy on the bench's own model_list (the gateway reads LiteLLM's format), written beside `config`
    as litellm.yaml with only the master key besides; None when `make bench` could not install it. Run it with
    `LITELLM_ENV`."""
    if not LITELLM.exists():
        return None
    document = yaml.safe_load(config.read_text())
    peer = config.with_name("litellm.yaml")
    peer.write_text(yaml.safe_dump({"model_list": document["model_list"],
                                    "general_settings": {"master_key": MASTER_KEY}}))
    return [str(LITELLM), "--config", str(peer), "--host", "127.0.0.1", "--port", str(port)]


# Its model prices from the installed package, not fetched from GitHub at start-up (the bench stays on loopback).
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def litellm_version() -> str:
    found = sorted(LITELLM.parents[1].glob("lib/python*/site-packages/litellm-*.dist-info"))
    return found[0].name.removeprefix("litellm-").removesuffix(".dist-info") if found else "?"


def _die_with_parent() -> None:
    """Children get SIGTERM if the bench dies without cleaning up (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Proc:
    """One subprocess with its output in a log file; `stop()` is idempotent."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, *, stop_signal: int = signal.SIGTERM,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.stop_signal = stop_signal  # SIGINT under cProfile: uvicorn re-raises it, and cProfile still dumps
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.spawned = time.perf_counter()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_s(self) -> float:
        """CPU seconds of all live threads (ns-precise schedstat), else utime+stime (10 ms ticks)."""
        try:
            total = 0
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/schedstat") as fh:
                    total += int(fh.read().split()[0])
            return total / 1e9
        except (OSError, ValueError, IndexError):
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def syscalls(self) -> tuple[int, int]:
        """(read, write) syscalls the process has made so far (/proc/PID/io: every thread, socket I/O included)."""
        with open(f"/proc/{self.pid}/io") as fh:
            fields = dict(line.split(": ") for line in fh.read().splitlines())
        return int(fields["syscr"]), int(fields["syscw"])

    def rss_kb(self) -> int:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError(f"{self.name}: no VmRSS")

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """`stop_signal` (uvicorn and the emulator shut down gracefully), SIGKILL after `timeout`."""
        if self.popen.poll() is None:
            self.popen.send_signal(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self._log.close()


def http_status(port: int, path: str, timeout: float = 0.5) -> int | None:
    """The status code of `GET path`, or None if nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = sock.recv(64)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def wait_ready(proc: Proc, port: int, path: str = "/health", *, want: int | None = 200, limit: float = 15.0) -> float:
    """Poll every 2 ms until `path` answers (`want`, or anything if None); seconds since the spawn."""
    deadline = proc.spawned + limit
    while time.perf_counter() < deadline:
        status = http_status(port, path)
        if status is not None and (want is None or status == want):
            return time.perf_counter() - proc.spawned
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        time.sleep(0.002)
    raise BenchError(f"{proc.name} did not answer {path} within {limit:.0f} s:\n{proc.tail()}")


# `gateway.cli.main` under cProfile timed by CPU time (wall time would charge the waits on a busy machine).
_PROFILED = """import cProfile, sys, time
from gateway.cli import main
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(sys.argv[2:])
finally:
    profile.disable()
    profile.dump_stats(sys.argv[1])
"""


def gateway_argv(config: Path, port: int, profile_to: Path | None = None) -> list[str]:
    """`livegate serve` (the console script when installed); under cProfile with `profile_to`."""
    args = ["serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if profile_to is not None:
        return [PY, "-c", _PROFILED, str(profile_to), *args]
    script = Path(PY).with_name("livegate")
    return [str(script), *args] if script.exists() else [PY, "-m", "gateway.cli", *args]


def migrate_argv(config: Path) -> None:
    """`livegate db upgrade --config` (the schema at head before the gateway starts, as after a restart)."""
    script = Path(PY).with_name("livegate")
    argv = [str(script)] if script.exists() else [PY, "-m", "gateway.cli"]
    done = subprocess.run([*argv, "db", "upgrade", "--config", str(config)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode:
        raise BenchError(f"livegate db upgrade failed ({done.returncode}): {done.stderr[-500:]}")


def emulator_argv(port: int) -> list[str]:
    """The emulator's own `main()` (what `livegate emulator` runs), called directly: robust to CLI wrappers."""
    launch = "import sys; from gateway.emulator.server import main; sys.exit(main(sys.argv[1:]))"
    return [PY, "-c", launch, "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING"]


def echo_argv(port: int) -> list[str]:
    """The scripted echo upstream of the audio figures (bench/echo_upstream.py)."""
    return [PY, "-m", "bench.echo_upstream", "--port", str(port)]


def picows_relay_available() -> bool:
    """picows is installed (pyproject.toml's `test` extra, which `make` installs)."""
    return importlib.util.find_spec("picows") is not None


def picows_relay_argv(port: int, url: str, key: str) -> list[str]:
    """The picows relay of `bench/picows_relay.py`: the leanest Python relay, the machine's floor."""
    return [PY, "-m", "bench.picows_relay", "--port", str(port), "--upstream-url", url, "--upstream-key", key]


def app_argv(kind: str, port: int, *extra: str) -> list[str]:
    """A baseline app of `bench/apps.py` on the gateway's stack."""
    return [PY, "-m", "bench.apps", kind, "--port", str(port), *extra]
