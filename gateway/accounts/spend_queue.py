"""Spend rows on their way to the database: `put` never waits (the session pump calls it), one task writes
batches every `proxy_batch_write_at` seconds, a database outage is ridden out in a bounded queue, and what
is left is written (or logged, row by row) at shutdown.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from gateway.accounts.spend_rows import KeySpend, SpendRow

log = logging.getLogger("livegate.spend")

MAX_BACKOFF_S = 30.0  # between retries while the database is down
BATCH_ROWS = 2000  # rows per write


class SpendWriter(Protocol):
    """Where batches go: `SpendStore` (the engine) or `spend_sql.SqliteSpendWriter` (a SQLite file's thread)."""

    async def write(self, rows: Sequence[SpendRow], *, retry: bool = True) -> list[KeySpend]: ...


class SpendQueue:
    """Batches spend rows to a `SpendStore`; without one (no database) rows go nowhere but logs and metrics."""

    def __init__(
        self,
        store: SpendWriter | None,
        *,
        interval: float,
        max_rows: int,
        on_written: Callable[[Sequence[SpendRow], list[KeySpend]], None] = lambda rows, totals: None,
    ) -> None:
        self._store = store  # None: nothing is persisted
        self._interval = interval  # seconds between writes
        self._max_rows = max_rows  # queued + in flight, at most
        self._on_written = on_written  # told each key's new spend after a write (budget tracking)
        self._rows: collections.deque[SpendRow] = collections.deque()  # waiting, oldest first
        self._inflight: list[SpendRow] = []  # the batch being written
        self._wake = asyncio.Event()  # a full batch is waiting: write now
        self._failing = False  # the last write failed (one warning per outage, one line when it ends)
        self.dropped = 0  # rows lost to a full queue (each was logged)
        self.written = 0  # rows written

    @property
    def keeps_rows(self) -> bool:
        """Rows go to a database (without one, `put` drops them: a meter need not build them)."""
        return self._store is not None

    @property
    def pending(self) -> int:
        return len(self._rows) + len(self._inflight)

    def put(self, row: SpendRow) -> None:
        """Queue a row; when the queue is full the oldest waiting row is dropped and logged."""
        if self._store is None:
            return
        if self.pending >= self._max_rows:
            lost = self._rows.popleft() if self._rows else row
            self.dropped += 1
            log.error("spend queue full (%d rows): not written: %s", self._max_rows, lost.describe())
            if lost is row:
                return
        self._rows.append(row)
        if len(self._rows) >= BATCH_ROWS:
            self._wake.set()

    async def run(self) -> None:
        """The writer task: a batch every interval (sooner when one is full), backing off while writes fail."""
        delay = self._interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            delay = self._interval if await self.flush() else min(MAX_BACKOFF_S, max(delay, self._interval) * 2)

    async def flush(self) -> bool:
        """Write everything waiting, a batch at a time; False when the database refused (rows kept)."""
        while self._rows and self._store is not None:
            count = min(BATCH_ROWS, len(self._rows))
            self._inflight = [self._rows.popleft() for _ in range(count)]
            try:
                totals = await self._store.write(self._inflight, retry=self._failing)  # after a failure: check
            except Exception as exc:  # any database error: keep the rows, try again later
                self._rows.extendleft(reversed(self._inflight))
                self._inflight = []
                self._trim()
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "spend logs cannot be written (%s); %d row(s) queued in memory, retrying",
                        type(exc).__name__,
                        self.pending,
                    )
                return False
            batch, self._inflight = self._inflight, []
            self.written += len(batch)
            if self._failing:
                self._failing = False
                log.info("spend logs are being written again")
            self._on_written(batch, totals)
        return True

    def _trim(self) -> None:
        while len(self._rows) > self._max_rows:
            self.dropped += 1
            log.error("spend queue full (%d rows): not written: %s", self._max_rows, self._rows.popleft().describe())

    async def close(self, timeout: float = 10.0) -> None:
        """Graceful shutdown: write what is queued; log every row that still could not be written.

        A batch whose write was cancelled with the writer task goes back to the front of the queue, and the
        next write first looks up which of its rows are stored (the cancelled commit may have landed)."""
        if self._inflight:
            self._rows.extendleft(reversed(self._inflight))
            self._inflight = []
            self._failing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._rows and not await self.flush():
                    await asyncio.sleep(min(1.0, self._interval))
        for row in [*self._inflight, *self._rows]:
            log.error("spend log lost at shutdown (database unreachable): %s", row.describe())
        self._rows.clear()
        self._inflight = []
