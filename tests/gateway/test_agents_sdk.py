"""The OpenAI Agents SDK (Python, realtime) runs a tool-using turn through the gateway, its strict
per-event validation raising nothing (issue #4)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import function_tool
from agents.realtime import RealtimeAgent, RealtimeRunner

from tests.support.live import MASTER_KEY, LiveGateway


@pytest.mark.parametrize("alias", ["gemini-live", "gemini-3.1-live"])
async def test_agent_calls_a_tool_and_answers(gateway: LiveGateway, alias: str) -> None:
    """The model calls get_weather; the SDK runs it, sends the output and gets the spoken answer."""
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny"

    agent = RealtimeAgent(name="assistant", instructions="Use your tools.", tools=[get_weather])
    runner = RealtimeRunner(agent)
    session = await runner.run(
        model_config={"url": f"{gateway.ws_base}/realtime?model={alias}", "api_key": MASTER_KEY}
    )
    seen: list[Any] = []
    raw: list[dict[str, Any]] = []
    async with session:
        await session.send_message("Please use get_weather for Paris.")

        async def drain() -> None:
            responses = 0
            async for event in session:
                seen.append(event)
                if event.type == "raw_model_event" and event.data.type == "raw_server_event":
                    raw.append(event.data.data)
                    if event.data.data.get("type") == "response.done":
                        responses += 1
                        if responses == 2:
                            return

        await asyncio.wait_for(drain(), 15)
    errors = [e for e in seen if e.type == "error"]
    assert errors == [], errors
    assert calls == ["Please use get_weather for Paris."]
    assert [e.type for e in seen].count("tool_end") == 1
    final = [e for e in raw if e.get("type") == "response.done"][-1]["response"]
    assert final["status"] == "completed"
    transcript = final["output"][0]["content"][0].get("transcript") or final["output"][0]["content"][0].get("text")
    assert transcript == 'get_weather returned {"output":"sunny"}'
