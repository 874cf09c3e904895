"""The server's main loop (gateway/serve.py): an idle gateway wakes once a tick, not ten times a second as
uvicorn's own loop does, still refreshes its Date header, and exits at once when told to, not at its next tick."""

from __future__ import annotations

import email.utils
import threading
import time

import httpx

from tests.support.live import GatewayThread

IDLE_S = 2.5


def test_an_idle_gateway_wakes_once_a_second_and_keeps_its_date_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """In 2.5 s idle the main loop runs 1-3 ticks (uvicorn's own: 25), each a whole second; /health has a Date."""
    thread = GatewayThread(tmp_path)
    server = thread._server
    ticks: list[int] = []
    on_tick = server.on_tick

    async def counted(counter: int) -> bool:
        ticks.append(counter)
        return await on_tick(counter)

    server.on_tick = counted  # type: ignore[method-assign]
    gateway = thread.start()
    try:
        time.sleep(0.2)
        before = len(ticks)
        time.sleep(IDLE_S)
        woken = len(ticks) - before
        answer = httpx.get(gateway.http_base.removesuffix("/v1") + "/health")
    finally:
        thread.stop()
    assert 1 <= woken <= IDLE_S + 1, ticks  # uvicorn's own loop: 25 in that time
    assert all(counter % 10 == 0 for counter in ticks), ticks  # each a whole second in uvicorn's counting
    date = email.utils.parsedate_to_datetime(answer.headers["date"])
    assert abs(date.timestamp() - time.time()) < 5


def test_setting_should_exit_from_another_thread_stops_the_server_before_its_next_tick(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With a minute-long tick, should_exit set from another thread still stops the server at once."""
    thread = GatewayThread(tmp_path)
    thread._server.tick_seconds = 60.0  # without the wake-up, the server would exit a minute later
    thread.start()
    runner = thread._thread
    threading.Thread(target=thread.shutdown).start()  # sets should_exit, as a signal handler or a test does
    runner.join(timeout=20)  # a minute without the wake-up
    assert not runner.is_alive()
