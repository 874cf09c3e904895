"""translators/ids.py: OpenAI's id shapes; with a clock, the ids stored as database keys sort by creation."""

from __future__ import annotations

import itertools
import re

from gateway.ids import new_ids
from translators.ids import IdFactory

SHAPE = re.compile(r"^(sess|conv|resp|item)_[0-9A-Za-z]{21}$")


def test_ids_keep_openais_shapes_with_or_without_a_clock() -> None:
    for ids in (IdFactory(), IdFactory(seed=3), new_ids()):
        for prefix in ("sess", "conv", "resp", "item"):
            assert SHAPE.match(ids.new(prefix))
        assert re.match(r"^call_[0-9A-Za-z]{16}$", ids.new("call"))
        assert re.match(r"^event_[0-9A-Za-z]{13}[0-9a-f]{8}$", ids.event())


def test_clocked_ids_sort_by_creation_across_factories() -> None:
    """Two sessions' factories on one clock: every id made later sorts later (the spend log's indexes then take
    each row at their end), the millisecond prefix is the clock's value, and no two ids collide."""
    now = [62**7]  # 1 followed by seven zeros in base62: the prefix's width is fixed
    first, second = IdFactory(clock=lambda: now[0]), IdFactory(clock=lambda: now[0])
    made = []
    for step in range(200):
        now[0] += step % 3  # sometimes the same millisecond
        made.append((first if step % 2 else second).new("resp"))
    assert made[0].startswith("resp_10000000")
    prefixes = [made_id[5:13] for made_id in made]
    assert prefixes == sorted(prefixes) and len(set(made)) == len(made)
    assert all(a < b for a, b in itertools.pairwise(made) if a[5:13] != b[5:13])
