"""A Gemini session with a fixed lifetime (reported for 3.8: closed at 58:00 with 1011 "Deadline expired", a
resumption then refused with 1007), scripted small on the emulator, through openai-python (issue #13):
with `model_info.fresh_session_after_s` the gateway moves to a fresh session ahead of the deadline; without
it, the deadline's close is resumed, the refusal replayed. Either way the client sees nothing but answers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openai import AsyncOpenAI

from gateway.emulator.script import Script
from gateway.emulator.server import ConnectionRecord, EmulatorServer
from schemas.openai import Dialect
from tests.faults.support import EmulatorFarm, alias_for, connections
from tests.gateway.test_openai_python import collect_until_done, text_item
from tests.gateway.test_tool_edges import checked, text_of
from tests.support.live import MASTER_KEY, GatewayThread, LiveGateway

MODEL = "gemini-3.8-live"


@pytest.fixture(scope="module")
def deadline_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveGateway, dict[str, EmulatorServer]]]:
    farm = EmulatorFarm().start()
    servers = {
        "ahead": farm.add(Script(session_deadline_s=4.0)),
        "after": farm.add(Script(session_deadline_s=1.5)),
    }
    ahead = alias_for(servers["ahead"], "ahead", MODEL)
    ahead["model_info"] = {"fresh_session_after_s": 1.0}
    thread = GatewayThread(tmp_path_factory.mktemp("deadline"), [ahead, alias_for(servers["after"], "after", MODEL)])
    yield thread.start(), servers
    thread.stop()
    farm.stop()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def two_turns(gateway: LiveGateway, alias: str, between: Callable[[], bool]) -> list[list[dict[str, Any]]]:
    """A text turn, a wait until `between()` holds (the upstream moved on), another text turn."""
    client = AsyncOpenAI(api_key=MASTER_KEY, base_url=gateway.http_base)
    turns = []
    async with client.realtime.connect(model=alias) as connection:
        await connection.recv()
        await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        await connection.recv()
        for text in ("Hello there", "Still there?"):
            await connection.conversation.item.create(item=text_item(text))
            await connection.response.create()
            turns.append(checked(await collect_until_done(connection), Dialect.GA))
            if len(turns) == 1:
                await until(between)
    return turns


def history_texts(record: ConnectionRecord) -> list[str]:
    """The words of the conversation a connection was given as history (clientContent without turnComplete)."""
    texts = []
    for message in record.messages:
        content = message.get("clientContent")
        if content and not content.get("turnComplete"):
            texts += [part.get("text", "") for turn in content["turns"] for part in turn["parts"]]
    return texts


async def test_a_fresh_session_before_the_deadline(deadline_rig: Any) -> None:
    """fresh_session_after_s < deadline: at the wakeup (idle) a new session gets the conversation replayed;
    Gemini never closes the old one with 1011."""
    gateway, servers = deadline_rig
    server = servers["ahead"]
    turns = await two_turns(gateway, "ahead", lambda: len(connections(server)) >= 2)
    assert [text_of(turn[-1]) for turn in turns] == ["You said: Hello there", "You said: Still there?"]
    first, second = connections(server)[:2]
    assert second.resumed_handle is None and "Hello there" in history_texts(second)
    assert not first.closed_by_server


async def test_after_the_deadline_a_refused_resumption_is_replayed(deadline_rig: Any) -> None:
    """No switch configured: 1011 at the deadline → resumed → refused with 1007 → replayed; no client error."""
    gateway, servers = deadline_rig
    server = servers["after"]
    turns = await two_turns(gateway, "after", lambda: len(connections(server)) >= 3)
    assert [text_of(turn[-1]) for turn in turns] == ["You said: Hello there", "You said: Still there?"]
    assert all(e["type"] != "error" for turn in turns for e in turn)
    first, resumed, replayed = connections(server)[:3]
    assert (first.close_code, first.close_reason) == (1011, "Deadline expired before operation could complete.")
    assert resumed.setup is not None and resumed.setup["sessionResumption"].get("handle")
    assert resumed.close_code == 1007
    assert replayed.resumed_handle is None and "Hello there" in history_texts(replayed)
