"""Issue #6 proof: each upstream fault × each point in a turn, seen through a real openai-python client.

Every cell holds the same four-turn text conversation (one turn calls `get_weather`) through one gateway,
against its own scripted emulator (gateway/emulator/README.md), and compares what the client saw with a
fault-free baseline of the same conversation. A cell expects one of:

* SAME: the exact same event stream, modulo generated ids (goAway, short stalls, losses between turns);
* CUT: the cut response ends `failed` (`upstream_interrupted`), the gateway asks Gemini again and the
  answer arrives as a new response; without the failed response the stream is the baseline's (mid-turn);
* ERROR: exactly one mapped `error`, then a clean close with the mapped code (refusals, and a loss before
  the first setupComplete).

Always: no hang (bounded waits), every event valid for GA, no duplicated event id / item / response.done,
and the emulator's connection records show the reconnects (the second connection resumed by handle).
Cells that show a gateway bug are `xfail(strict=True)` with the bug in the reason (see `BUGS`).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.emulator.script import FAULT_POINTS, Script
from gateway.emulator.server import ConnectionRecord, EmulatorServer
from schemas.openai import Dialect
from tests.faults.support import (
    AUDIO_MODEL,
    CONVERSATION,
    LIVE_31_MODEL,
    TEXT_MODEL,
    EmulatorFarm,
    Transcript,
    alias_for,
    check_invariants,
    connections,
    converse,
    first_difference,
    normalize,
    without_cut,
)
from tests.support.live import GatewayThread, LiveGateway
from translators.resume import BACKOFF_S

SAME, CUT, ERROR = "same", "cut", "error"
STALL_S = 0.3  # a "short" stall: the client should just see its events later
# The matrix gateway's wait for setupComplete and its mid-turn silence limit (limits.upstream_stall_seconds):
# far above every scripted delay, so a busy machine never turns a short stall or a slow dial into a fault.
# Only test_stall_forever wants them to fire; it has its own gateway with short ones (STRICT_*).
SETUP_TIMEOUT_S = 5.0
STALL_LIMIT_S = 5.0
PACE_S = 0.2  # the user's pause between turns, so a loss between turns is seen before the next request
# How long get_weather takes, so a loss right after the toolCall is seen (and redialled: the first redial waits up
# to BACKOFF_S[0], jittered) before its output.
TOOL_S = BACKOFF_S[0] + 0.3
# The fault fires the Nth time its point is reached on the first connection: the third reply is "Tell me
# more" (1: "Hello there", 2: the reply after get_weather), so a resumption handle exists and one turn follows.
OCCURRENCE = {"before_setup_complete": 1, "mid_text": 3, "mid_audio": 3, "mid_tool_call": 1, "between_turns": 1}

INTERNAL = ("server_error", "upstream_error", 1011)
LOST = ("server_error", "upstream_connection_lost", 1011)
INVALID = ("invalid_request_error", "upstream_invalid_argument", 4000)
REFUSED = ("invalid_request_error", "upstream_not_found_or_policy", 4000)
NO_SETUP = ("server_error", "upstream_unavailable", 1011)
NOT_FOUND = "models/gemini-0.9-live is not found for API version v1beta, or is not supported for bidiGenerateContent."
NOT_SUPPORTED = "Operation is not implemented, or supported, or enabled."  # GEMINI_LIVE.md §5.1, mid-session 1008

# A cell that shows a gateway bug names it here and becomes a strict xfail. The bugs this matrix found
# (B1-B7 and the stall hang) are fixed; the cells that found them now pass.
BUGS: dict[str, str] = {}


@dataclass(frozen=True)
class Cell:
    id: str
    script: Script
    expect: str  # SAME | CUT | ERROR
    error: tuple[str, str, int] | None = None  # ERROR: the error type, code and close code
    model: str = AUDIO_MODEL
    modality: str = "text"
    pace_s: float = 0.0
    tool_delay_s: float = 0.0
    faults: tuple[str, ...] = ()  # what the first connection's record shows
    connections: int | None = 2  # how many upstream connections; None: at least 2
    resumed: bool = True  # every connection after the first resumed by handle
    bug: str | None = None  # a key of BUGS: the cell is xfail(strict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alias(self) -> str:
        return self.id


def _fault_cell(fault: str, point: str) -> Cell:
    """The matrix cell for a scripted fault at a point (goAway is `_go_away_cell`)."""
    at = {"fault_occurrence": OCCURRENCE[point], "fault_connections": 1}
    modality = "audio" if point == "mid_audio" else "text"
    timing = {"between_turns": {"pace_s": PACE_S}, "mid_tool_call": {"tool_delay_s": TOOL_S}}.get(point, {})
    cell = f"{fault}-{point}"
    if fault == "stall":
        script = Script(stall_at=point, stall_s=STALL_S, **at)  # type: ignore[arg-type]
        return Cell(cell, script, SAME, modality=modality, faults=(f"stall@{point}",), connections=1, resumed=False)
    if fault in ("close_1007", "close_1008"):
        code, reason, error = (
            (1007, "Request contains an invalid argument.", INVALID)
            if fault == "close_1007"
            else (1008, NOT_FOUND if point == "before_setup_complete" else NOT_SUPPORTED, REFUSED)
        )
        script = Script(close_at=point, close_code=code, close_reason=reason, **at)  # type: ignore[arg-type]
        return Cell(cell, script, ERROR, error, modality=modality, faults=(f"close@{point}",), connections=1,
                    resumed=False, **timing)  # type: ignore[arg-type]
    kind = "close" if fault == "close_1011" else "drop"
    script = Script(**{f"{kind}_at": point}, **at)  # type: ignore[arg-type]
    faults = (f"{kind}@{point}",)
    if point == "before_setup_complete":  # no setupComplete ever: no resumption (judged in the report)
        return Cell(cell, script, ERROR, INTERNAL if kind == "close" else LOST, faults=faults, connections=1,
                    resumed=False)
    expect = CUT if point in ("mid_text", "mid_audio") else SAME
    return Cell(cell, script, expect, modality=modality, faults=faults, **timing)  # type: ignore[arg-type]


# goAway.timeLeft: the gateway leaves at the turn boundary, long before it runs out (then the emulator's close
# never comes); the 2 s default could run out on a busy machine and turn a planned switch into a loss.
LEFT = {"go_away_time_left_s": 10.0}


def _go_away_cell(point: str) -> Cell:
    """goAway at each point: by turns between turns, else by a timer placed inside the turn."""
    cell = f"go_away-{point}"
    if point == "between_turns":  # every connection: goAway after its first turn, so the session crosses 3+
        return Cell(cell, Script(go_away_after_turns=1, **LEFT), SAME, connections=None)
    if point == "before_setup_complete":  # the earliest a goAway can come: right after setupComplete
        return Cell(cell, Script(go_away_after_s=0.0, fault_connections=1, **LEFT), SAME)
    if point == "mid_tool_call":  # get_weather is called ~50 ms in and answered after 0.5 s
        return Cell(cell, Script(go_away_after_s=0.25, fault_connections=1, **LEFT), SAME, tool_delay_s=0.5)
    # 0.1 s per reply word: "Tell me more" streams from ~0.75 s to ~1.25 s after setupComplete
    script = Script(go_away_after_s=1.0, reply_chunk_interval_s=0.1, fault_connections=1, **LEFT)
    return Cell(cell, script, SAME, modality="audio" if point == "mid_audio" else "text")


FAULTS = ("close_1011", "close_1007", "close_1008", "drop", "stall", "go_away")
MATRIX = [_go_away_cell(p) if f == "go_away" else _fault_cell(f, p) for f in FAULTS for p in FAULT_POINTS]
# No combination is skipped: every fault can strike at every point. goAway "before setupComplete" is the
# earliest goAway Gemini can send (right after setupComplete); a refusal mid-session uses §5.1's mid-session
# 1008 reason, one at setup the retired-model reason.

_ONCE = {"fault_connections": 1}
VARIANTS = [
    # The same faults on the other kinds of model: 3.x (realtimeInput.text) and a real TEXT model (Vertex).
    Cell("close_1011-mid_text[3.1]", Script(close_at="mid_text", fault_occurrence=3, **_ONCE), CUT,
         model=LIVE_31_MODEL, faults=("close@mid_text",)),
    Cell("go_away-between_turns[3.1]", Script(go_away_after_turns=1, **LEFT), SAME, model=LIVE_31_MODEL,
         connections=None),
    Cell("close_1011-mid_text[2.0-text]", Script(close_at="mid_text", fault_occurrence=3, **_ONCE), CUT,
         model=TEXT_MODEL, faults=("close@mid_text",)),
    Cell("drop-between_turns[2.0-text]", Script(drop_at="between_turns", **_ONCE), SAME, model=TEXT_MODEL,
         pace_s=PACE_S, faults=("drop@between_turns",)),
    # Deterministic reproductions of the bugs the matrix's timing hides.
    # The stall holds the close until "Use get_weather" is sent. Whether Gemini's answer had begun when the
    # close came depends on scheduling: nothing shown → the same stream as the baseline; something shown →
    # the cut outcome. CUT accepts both (see test_fault).
    Cell("close_1011-between_turns-request_in_flight",
         Script(stall_at="between_turns", stall_s=0.2, close_at="between_turns", **_ONCE), CUT,
         faults=("stall@between_turns", "close@between_turns")),
    Cell("close_1011-mid_tool_call-output_sent",  # the output goes out during the stall, then the close
         Script(stall_at="mid_tool_call", stall_s=0.2, close_at="mid_tool_call", **_ONCE), SAME,
         faults=("stall@mid_tool_call", "close@mid_tool_call")),
    Cell("close_1011-mid_text-first_turn", Script(close_at="mid_text", **_ONCE), CUT, faults=("close@mid_text",),
         resumed=False),
    Cell("close_1011-mid_text-handle_expired",  # handles expire at once: the resumed setup gets 1008 not found
         Script(close_at="mid_text", fault_occurrence=3, resumption_ttl_s=0.0, **_ONCE), CUT,
         faults=("close@mid_text",), resumed=False, connections=3),  # the refused handle, then a replay
]
CELLS = MATRIX + VARIANTS
BASE_MODELS = (AUDIO_MODEL, LIVE_31_MODEL, TEXT_MODEL)


@dataclass
class Rig:
    gateway: LiveGateway
    strict: LiveGateway  # the same emulators behind short setup and stall limits (test_stall_forever)
    servers: dict[str, EmulatorServer]  # alias → its emulator
    baselines: dict[tuple[str, str, Dialect], Transcript] = field(default_factory=dict)

    async def baseline(self, model: str, modality: str, dialect: Dialect = Dialect.GA) -> Transcript:
        key = (model, modality, dialect)
        if key not in self.baselines:
            transcript = await converse(self.gateway, f"base-{model}", modality=modality, dialect=dialect)
            check_invariants(transcript, dialect)
            assert not transcript.errors and not transcript.notes and transcript.close_code is None
            self.baselines[key] = transcript
        return self.baselines[key]


EXTRA_SCRIPTS: dict[str, tuple[Script, str]] = {}  # other tests' emulators: alias → (script, model)


def extra(alias: str, script: Script, model: str = AUDIO_MODEL) -> str:
    EXTRA_SCRIPTS[alias] = (script, model)
    return alias


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    farm = EmulatorFarm().start()
    plan = {cell.alias: (cell.script, cell.model) for cell in CELLS}
    plan |= {f"base-{model}": (Script(), model) for model in BASE_MODELS} | EXTRA_SCRIPTS
    servers = {alias: farm.add(script) for alias, (script, _) in plan.items()}
    models = [alias_for(servers[alias], alias, model) for alias, (_, model) in plan.items()]
    threads: list[GatewayThread] = []
    main = _gateway(tmp_path_factory, threads, models, SETUP_TIMEOUT_S, STALL_LIMIT_S)
    strict = _gateway(tmp_path_factory, threads, models, STRICT_SETUP_TIMEOUT_S, STRICT_STALL_LIMIT_S)
    yield Rig(main, strict, servers)
    for thread in threads:
        thread.stop()
    farm.stop()


def _gateway(
    tmp: pytest.TempPathFactory,
    threads: list[GatewayThread],
    models: list[dict[str, object]],
    setup_timeout_s: float,
    stall_s: float,
) -> LiveGateway:
    """A gateway over the farm's aliases (added to `threads`): setupComplete awaited `setup_timeout_s`, mid-turn
    silence longer than `stall_s` counted as a lost link (limits.upstream_stall_seconds)."""
    thread = GatewayThread(tmp.mktemp("faults"), models, general={"limits": {"upstream_stall_seconds": stall_s}})
    threads.append(thread)
    gateway = thread.start()
    app = thread._server._app  # the gateway's own context knob; not in the config file
    app.state.upstream = dataclasses.replace(app.state.upstream, setup_timeout_s=setup_timeout_s)
    return gateway


def _param(cell: Cell) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=f"{cell.bug}: {BUGS[cell.bug]}")] if cell.bug else []
    return pytest.param(cell, id=cell.id, marks=marks)


@pytest.mark.parametrize("cell", [_param(cell) for cell in CELLS])
async def test_fault(rig: Rig, cell: Cell) -> None:
    base = await rig.baseline(cell.model, cell.modality)
    seen = await converse(rig.gateway, cell.alias, modality=cell.modality, pace_s=cell.pace_s,
                          tool_delay_s=cell.tool_delay_s)
    check_invariants(seen)
    got, want = normalize(seen.events, cell.alias), normalize(base.events, f"base-{cell.model}")
    if cell.expect == SAME:
        assert not seen.errors and seen.close_code is None and not seen.notes, _story(seen)
        assert got == want, first_difference(got, want)
    elif cell.expect == CUT:
        assert not seen.errors and seen.close_code is None and not seen.notes, _story(seen)
        cut = [r for r in seen.responses if r["status"] == "failed"]
        if not cut:  # a drop can take the cut turn's first chunk with it: nothing reached the client, so the
            assert got == want, first_difference(got, want)  # open response carries the re-asked answer
            return
        (failed,) = cut
        assert failed["status_details"]["error"]["code"] == "upstream_interrupted"
        assert all(item["status"] == "incomplete" for item in failed["output"])
        rest = normalize(without_cut(seen.events), cell.alias)
        assert rest == want, first_difference(rest, want)
    else:
        assert cell.error is not None
        error_type, code, close = cell.error
        assert [e["error"]["code"] for e in seen.errors] == [code], _story(seen)
        assert seen.events[-1]["type"] == "error" and seen.events[-1]["error"]["type"] == error_type
        assert (seen.close_code, seen.close_reason) == (close, f"{error_type}.{code}")
        before = normalize(without_cut(seen.events[:-1]), cell.alias)
        assert before == want[: len(before)], first_difference(before, want)
    _check_records(rig.servers[cell.alias], cell)


def _check_records(server: EmulatorServer, cell: Cell) -> None:
    records = connections(server)
    if cell.connections is None:
        assert len(records) >= 2
        assert all(r.go_aways == 1 for r in records[:-1]), [r.go_aways for r in records]
    else:
        assert len(records) == cell.connections, [(r.close_code, r.close_reason) for r in records]
    if cell.faults:
        assert records[0].faults == list(cell.faults)
    if cell.resumed:  # resumed by handle wherever the connection before had given one (after a completed turn)
        # goAway right after setupComplete may reach the gateway before the client's first request does: the
        # session is idle, so it switches at once, and with no handle yet the new connection starts afresh.
        handed = [r.resumed_handle for before, r in itertools.pairwise(records) if _gave_handle(before)]
        assert all(handed), [(r.resumed_handle, _gave_handle(r)) for r in records]


def _gave_handle(record: ConnectionRecord) -> bool:
    """The connection completed a turn (the emulator's handle follows each turnComplete), or carried one on."""
    session = record.session
    return session is not None and (session.turns_completed > 0 or record.resumed_handle is not None)


def _story(seen: Transcript) -> str:
    errors = [f"{e['error']['code']}: {e['error']['message'][:120]}" for e in seen.errors]
    statuses = [r["status"] for r in seen.responses]
    return f"errors={errors} responses={statuses} close={seen.close_code} notes={seen.notes}"


# ---- stalls that never end ----------------------------------------------------------------------------

STRICT_SETUP_TIMEOUT_S = 1.0  # the strict gateway's wait for setupComplete (10 s in production)
STRICT_STALL_LIMIT_S = 1.5  # the strict gateway's upstream_stall_seconds (15 s in production)

FOREVER = {
    point: extra(
        f"stall_forever-{point}", Script(stall_at=point, stall_s=None, fault_occurrence=OCCURRENCE[point], **_ONCE)
    )
    for point in ("before_setup_complete", "mid_text", "between_turns")
}


@pytest.mark.parametrize("point", ["before_setup_complete", "mid_text", "between_turns"])
async def test_stall_forever(rig: Rig, point: str) -> None:
    """An upstream that goes silent for good: before setupComplete the setup timeout ends the wait (error +
    1011); mid-session the silence counts as a lost link, which is resumed, and the conversation goes on."""
    seen = await converse(rig.strict, FOREVER[point], pace_s=PACE_S)
    check_invariants(seen)
    if point == "before_setup_complete":
        error_type, code, close = NO_SETUP
        assert [e["error"]["code"] for e in seen.errors] == [code] and seen.close_code == close, _story(seen)
        assert seen.events[-1]["error"]["type"] == error_type
        return
    assert not seen.errors and seen.close_code is None, _story(seen)
    assert len(connections(rig.servers[FOREVER[point]])) >= 2  # the silent link was replaced


# ---- the beta client ----------------------------------------------------------------------------------

BETA_GO_AWAY = extra("beta-go_away", Script(go_away_after_turns=1, **LEFT))


async def test_beta_client_crosses_go_aways(rig: Rig) -> None:
    """openai-python's beta client (websocket_base_url) sees its baseline stream across several goAways."""
    base = await rig.baseline(AUDIO_MODEL, "text", Dialect.BETA)
    seen = await converse(rig.gateway, BETA_GO_AWAY, dialect=Dialect.BETA)
    check_invariants(seen, Dialect.BETA)
    assert not seen.errors and seen.close_code is None and not seen.notes, _story(seen)
    got, want = normalize(seen.events, BETA_GO_AWAY), normalize(base.events, f"base-{AUDIO_MODEL}")
    assert got == want, first_difference(got, want)
    _check_records(rig.servers[BETA_GO_AWAY], Cell(BETA_GO_AWAY, Script(), SAME, connections=None))
    # /metrics counts what the operator should know: the goAways, and the links after the first (resumed).
    # Not one for one with the emulator's records: a link set up just as the client leaves is never used.
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(rig.gateway.http_base.removesuffix("/v1") + "/metrics")).text
    count = upstream_events(metrics, BETA_GO_AWAY)
    links = len(connections(rig.servers[BETA_GO_AWAY]))
    assert links >= 2 and 1 <= count["go_away"] <= links, (links, count)
    assert 1 <= count["resumption"] <= count["reconnect"] <= links - 1, (links, count)


def upstream_events(metrics: str, alias: str) -> dict[str, float]:
    """`livegate_upstream_events_total{alias, event}` for one alias, from /metrics' text."""
    return {
        sample.labels["event"]: sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "livegate_upstream_events_total" and sample.labels.get("alias") == alias
    }


# ---- a race the matrix avoids by pacing ---------------------------------------------------------------

EAGER = [extra(f"eager-{n}", Script(close_at="between_turns", fault_connections=1)) for n in range(10)]


async def test_eager_client_after_a_loss_between_turns(rig: Rig) -> None:
    """1011 right after the first turn while the client sends the next at once (no pause), ten times:
    Gemini must hear each user turn once, and the session must go on without an error."""
    for alias in EAGER:
        seen = await converse(rig.gateway, alias, turns=CONVERSATION[:2])
        records = connections(rig.servers[alias])
        sent = [sum(CONVERSATION[1] in str(m) for m in r.messages) for r in records[1:]]
        assert sent == [1] and not seen.errors, f"{alias}: {_story(seen)}; 2nd-turn text per resumed link: {sent}"
