"""`make fuzz` (`python -m tests.fuzz [--frames N] [--seed S]`): a long fuzz run against a fresh gateway.

Sessions of `--per-session` frames each, alternating dialect (GA, beta) and model family (2.x, 3.x), each
ending with a turn; prints frames sent, errors, disconnects by close code and tracebacks. Inputs of failing
sessions go to `--failures` (JSONL in the corpus format): add the short ones to `tests/fuzz/corpus.jsonl`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from schemas.openai import Dialect
from tests.fuzz.mutator import Mutator
from tests.fuzz.runner import Report, TracebackCatcher, fuzz_session
from tests.support.live import MASTER_KEY, GatewayThread

MODELS = ("gemini-live", "gemini-3.1-live")
KEEP = 40  # frames of a failing session written to the failures file (its last ones)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000, help="frames in all")
    parser.add_argument("--per-session", type=int, default=2_500, help="frames per session")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workers", type=int, default=2, help="sessions at once")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures.jsonl"))
    return parser


class Tally:
    def __init__(self) -> None:
        self.frames = self.refused = self.sessions = self.turns_failed = self.missing = 0
        self.errors: Counter[str] = Counter()
        self.disconnects: Counter[int] = Counter()
        self.failures: list[dict[str, object]] = []

    def add(self, name: str, dialect: Dialect, model: str, report: Report) -> None:
        self.sessions += 1
        self.frames += report.frames
        self.refused += report.refused
        self.errors.update(report.errors)
        self.missing += len(report.missing)
        if report.close_code is not None:
            self.disconnects[report.close_code] += 1
        if report.turn:
            self.turns_failed += 1
        if not report.ok:
            frames = [frame for frame, _ in report.missing] or report.failing[-KEEP:]
            close = f"close {report.close_code} {report.close_reason}"
            why = f"{close}; turn {report.turn!r}; {len(report.missing)} missing errors"
            self.failures.append(
                {"name": name, "why": why, "dialect": dialect.value, "model": model,
                 "frames": [frame.to_json() for frame in frames]}
            )


async def _run(args: argparse.Namespace) -> int:
    thread = GatewayThread(Path(tempfile.mkdtemp(prefix="livegate-fuzz-")))
    gateway = thread.start()
    tally = Tally()
    sessions = max(1, args.frames // args.per_session)
    plan = iter(range(sessions))
    started = time.perf_counter()

    async def worker() -> None:
        for index in plan:
            dialect = (Dialect.GA, Dialect.BETA)[index % 2]
            model = MODELS[(index // 2) % len(MODELS)]
            first = index * args.per_session
            mutator = Mutator(args.seed, dialect)
            frames = (mutator.frame(n) for n in range(first, first + args.per_session))
            url = f"{gateway.ws_base}/realtime?model={model}"
            auth = {"Authorization": f"Bearer {MASTER_KEY}"}
            report = await fuzz_session(url, auth, dialect, frames)
            tally.add(f"seed{args.seed}-session{index}", dialect, model, report)
            print(f"session {index + 1}/{sessions} {dialect.value} {model}: {report.frames} frames, "
                  f"{sum(report.errors.values())} errors, close {report.close_code}, turn {report.turn or 'ok'}",
                  flush=True)

    with TracebackCatcher() as caught:
        try:
            await asyncio.gather(*(worker() for _ in range(args.workers)))
        finally:
            thread.stop()
    _print(args, tally, caught, time.perf_counter() - started)
    if tally.failures:
        with args.failures.open("w") as out:
            for failure in tally.failures:
                out.write(json.dumps(failure, ensure_ascii=False) + "\n")
        print(f"failing inputs: {args.failures}")
    return 1 if tally.failures or caught.records else 0


def _print(args: argparse.Namespace, tally: Tally, caught: TracebackCatcher, seconds: float) -> None:
    print(f"\nlivegate fuzz: seed {args.seed}, {tally.sessions} sessions in {seconds:.0f} s")
    print(f"frames sent          {tally.frames}")
    print(f"frames refused       {tally.refused} (each owed an error echoing its event_id; missing: {tally.missing})")
    print(f"error events         {sum(tally.errors.values())}: "
          + ", ".join(f"{code} {n}" for code, n in tally.errors.most_common(8)))
    print("disconnects by code  " + (", ".join(f"{c}: {n}" for c, n in sorted(tally.disconnects.items())) or "none"))
    print(f"turns that failed    {tally.turns_failed}")
    distinct = Counter(caught.lines())
    print(f"tracebacks / errors  {len(caught.records)}")
    for line, count in itertools.islice(distinct.most_common(), 10):
        print(f"  {count} x {line}")


def main() -> int:
    args = _parser().parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(_run(args))


if __name__ == "__main__":
    sys.exit(main())
