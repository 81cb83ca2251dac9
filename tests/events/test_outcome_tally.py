"""The outcome tally between metric pushes: producers on any thread, the writer draining."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from ordinis.engines.learning.events.buffer import DISABLED, OutcomeTally


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads every microsecond so a read-modify-write race shows within a second."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_counts_added_while_the_writer_drains_are_never_lost(busy_switching: None) -> None:
    tally = OutcomeTally()
    producers, per_producer = 4, 50_000
    drained = 0
    done = threading.Event()

    def produce() -> None:
        for i in range(per_producer):
            tally.add(f"type-{i % 7}", "signal", DISABLED)

    def drain() -> None:
        nonlocal drained
        while not done.is_set():
            drained += sum(tally.drain().values())

    writer = threading.Thread(target=drain)
    writer.start()
    threads = [threading.Thread(target=produce) for _ in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    writer.join()
    drained += sum(tally.drain().values())
    assert drained == producers * per_producer
