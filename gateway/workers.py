"""`livegate serve --workers N`: a master process and N worker processes accepting on one listening socket.

uvicorn's own multi-process mode builds a plain `uvicorn.Server` in each worker from a pickled config, so our
drain (gateway/serve.py `GracefulServer`) and per-limits HTTP protocol would not run there; this master is
uvicorn's design (one socket bound by the master, spawned workers, dead workers replaced) with our server in
each worker. SIGTERM or SIGINT to the master: every worker drains (readiness 503, open turns finish, 1001), then
the master stops the embedded Valkey it started (when no `redis_url` is set) and exits. SIGTERM to one worker:
that worker drains alone while a replacement takes its place.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import logging.config
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

log = logging.getLogger("livegate.workers")
_spawn = multiprocessing.get_context("spawn")
multiprocessing.allow_connection_pickling()  # the listening socket travels to each worker
STOP_MARGIN_S = 15.0  # beyond the shutdown grace, before a worker that has not exited is killed


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its app and server (pickled to each worker)."""

    config_path: str
    environ: dict[str, str]  # the environment the config resolves against
    host: str
    ssl_certfile: str | None
    ssl_keyfile: str | None
    log_level: str
    log_config: dict[str, Any]
    workers: int
    redis_url: str | None = field(default=None, repr=False)  # the embedded Valkey's; None: the config's own


class _WorkerGroup:
    """A worker's side of the link (gateway/serve.py `Group`)."""

    def __init__(self, reports: Any, draining: Any, banner: bool) -> None:
        self.banner = banner
        self._reports = reports  # this worker's pipe to the master (the write end): "ready" | "draining"
        self._draining = draining  # multiprocessing event: the master is draining every worker

    def group_draining(self) -> bool:
        return bool(self._draining.is_set())

    def report(self, event: str) -> None:
        self._reports.send(event)


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: not outliving the master


def worker_main(spec: WorkerSpec, sock: socket.socket, reports: Any, draining: Any, banner: bool) -> None:
    """One worker (in its own spawned process): the app from the config, served by `GracefulServer`."""
    _die_with_parent()
    logging.config.dictConfig(spec.log_config)
    from gateway.app import create_app
    from gateway.config import load_config
    from gateway.serve import GracefulServer, server_config

    config = load_config(spec.config_path, spec.environ)
    if spec.redis_url is not None:
        accounts = replace(config.accounts, redis_url=spec.redis_url, redis_embedded=True)
        config = replace(config, accounts=accounts)
    app = create_app(config)
    app.state.workers = spec.workers
    uv_config = server_config(
        app,
        spec.host,
        sock.getsockname()[1],
        ssl_certfile=spec.ssl_certfile,
        ssl_keyfile=spec.ssl_keyfile,
        log_level=spec.log_level,
        log_config=spec.log_config,
    )
    GracefulServer(uv_config, app, _WorkerGroup(reports, draining, banner)).run(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts on (bound once, here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@dataclass
class _Worker:
    process: Any  # multiprocessing SpawnProcess
    reports: Any  # the read end of its pipe to the master; None once the worker has closed it
    ready: bool = False  # its server has started
    retired: bool = False  # draining alone: a replacement was started, it is only waited for


class Master:
    """Starts, replaces and stops the workers.

    It sleeps until something happens: a worker reports (its own pipe), exits (its process sentinel), or a signal
    arrives (the wake-up socket the signal module writes to). It used to poll every 0.2 s, about 2 ms of CPU a
    second on an idle machine (issue #15).
    """

    def __init__(self, spec: WorkerSpec, sock: socket.socket, grace_s: float) -> None:
        self._spec = spec
        self._sock = sock
        self._grace_s = grace_s  # the workers' shutdown grace
        self._draining = _spawn.Event()  # set before the master's SIGTERM to every worker
        self._workers: list[_Worker] = []
        self._stop_signal: int | None = None  # set by SIGTERM/SIGINT
        self._banner_shown = False  # the start-up lines come from the first worker only

    def run(self) -> int:
        """Until SIGTERM/SIGINT; 1 if a worker failed to start, else 0."""
        wake, wake_writer = socket.socketpair()
        for end in (wake, wake_writer):
            end.setblocking(False)
        previous = signal.set_wakeup_fd(wake_writer.fileno())
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
            for _ in range(self._spec.workers):
                self._spawn_worker()
            failed = False
            while self._stop_signal is None and not failed:
                self._wait(wake)
                failed = self._reap()
        finally:
            signal.set_wakeup_fd(previous)
            wake.close()
            wake_writer.close()
        self._stop_all()
        return 1 if failed else 0

    def _wait(self, wake: socket.socket) -> None:
        """Until a worker reports or exits, or a signal arrives; then read every report."""
        reports = [worker.reports for worker in self._workers if worker.reports is not None]
        sentinels = [worker.process.sentinel for worker in self._workers]
        multiprocessing.connection.wait([wake, *reports, *sentinels])
        with contextlib.suppress(BlockingIOError):
            while wake.recv(64):  # the signal numbers: `_on_signal` has recorded the signal
                pass
        for worker in list(self._workers):
            self._read_reports(worker)

    def _on_signal(self, sig: int, _frame: Any) -> None:
        self._stop_signal = sig

    def _spawn_worker(self) -> None:
        banner = not self._banner_shown
        self._banner_shown = True
        reports, writer = _spawn.Pipe(duplex=False)
        process = _spawn.Process(
            target=worker_main, args=(self._spec, self._sock, writer, self._draining, banner), daemon=False
        )
        process.start()
        writer.close()  # the worker has its own copy: when it exits, the read end sees the end of the pipe
        self._workers.append(_Worker(process, reports))

    def _read_reports(self, worker: _Worker) -> None:
        """Every report the worker has sent so far."""
        reports = worker.reports
        try:
            while reports is not None and reports.poll():
                self._on_event(worker, reports.recv())
        except (EOFError, OSError):  # the worker has exited (its sentinel says so too)
            reports.close()
            worker.reports = None

    def _on_event(self, worker: _Worker, event: str) -> None:
        pid = worker.process.pid
        if event == "ready":
            worker.ready = True
        elif event == "draining" and not worker.retired and self._stop_signal is None:
            log.info("worker [%d] is draining alone; starting another in its place", pid)
            worker.retired = True
            self._spawn_worker()

    def _reap(self) -> bool:
        """Replace workers that died; True when one died before it ever served (a broken start-up)."""
        for worker in list(self._workers):
            process = worker.process
            if process.is_alive():
                continue
            process.join()
            self._workers.remove(worker)
            self._read_reports(worker)  # a "ready" it sent just before dying
            if worker.reports is not None:
                worker.reports.close()
            if worker.retired:
                continue
            if not worker.ready:
                log.error("worker [%d] exited with %s before serving; stopping", process.pid, process.exitcode)
                return True
            log.warning("worker [%d] exited with %s; starting another", process.pid, process.exitcode)
            self._spawn_worker()
        return False

    def _stop_all(self) -> None:
        """Every worker drains (SIGTERM); those still running after the grace and a margin are killed."""
        self._draining.set()
        for worker in self._workers:
            if worker.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._grace_s + STOP_MARGIN_S
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                log.error("worker [%d] did not stop in time; killed", worker.process.pid)
                worker.process.kill()
                worker.process.join()
        self._sock.close()
