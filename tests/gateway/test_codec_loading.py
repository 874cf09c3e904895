"""G.711's codecs (numpy, soxr: ~100 ms of imports) load on a worker thread when the first phone session asks
for them, never on the event loop that serves every session (issue #9); the frames that came meanwhile are
taken in order. A fresh `livegate serve` process (this test process has the codecs loaded already) records,
with a finder first on sys.meta_path, which thread imported translators.g711."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

from openai import AsyncOpenAI

from tests.support.live import MASTER_KEY
from tests.support.processes import GatewayProcess, write_config

LAUNCH = textwrap.dedent(
    """
    import os, sys, threading

    class Witness:  # first on sys.meta_path: sees each module's first import, by whichever route; finds nothing
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "translators.g711":
                with open(os.environ["IMPORT_RECORD"], "a") as record:
                    record.write(threading.current_thread().name + "\\n")
            return None

    sys.meta_path.insert(0, Witness)
    from gateway.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


async def test_first_phone_session_loads_codecs_off_the_loop(tmp_path: Path) -> None:
    model = "emulator/gemini-2.5-flash-native-audio-preview-12-2025"
    models = [{"model_name": "phone", "litellm_params": {"model": model}}]
    config = write_config(tmp_path / "config.yaml", models, {"database_url": None})
    record = tmp_path / "imports.txt"
    gateway = GatewayProcess("codecs", config, tmp_path, launcher=LAUNCH, env={"IMPORT_RECORD": str(record)})
    try:
        gateway.wait_ready()
        assert not record.exists()  # a pcm16-only gateway never loads them
        client = AsyncOpenAI(api_key=MASTER_KEY, base_url=f"{gateway.base}/v1", websocket_base_url=gateway.ws_base)
        async with client.beta.realtime.connect(model="phone") as conn:
            await conn.session.update(session={"input_audio_format": "g711_ulaw", "output_audio_format": "g711_ulaw",
                                               "modalities": ["audio", "text"]})
            # sent at once, so they queue behind the update while the codecs load
            await conn.conversation.item.create(
                item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}
            )
            await conn.response.create()
            kinds, ulaw = [], b""
            async for event in conn:
                kinds.append(event.type)
                if event.type == "response.audio.delta":
                    ulaw += base64.b64decode(event.delta)
                if event.type in ("response.done", "error"):
                    break
        assert kinds[0] == "session.created" and "session.updated" in kinds, kinds
        assert kinds.index("session.updated") < kinds.index("conversation.item.created") < kinds.index(
            "response.created"
        ), kinds
        assert kinds[-1] == "response.done" and ulaw, kinds
    finally:
        gateway.stop()
    threads = record.read_text().split()
    assert threads and "MainThread" not in threads, threads
