"""The collector held back during a pass: frozen heap, rarer collections, everything restored after."""

import gc
import weakref

import pytest

from channel_assets.refresh.collector import YOUNG_THRESHOLD, quiet_collector
from channel_assets.refresh.pump import Grouping, Pump


@pytest.fixture(autouse=True)
def default_collector():
    saved = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    yield
    gc.unfreeze()
    gc.set_threshold(*saved)


def test_freezes_and_raises_the_young_threshold_then_restores_both():
    with quiet_collector():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_nested_passes_restore_only_when_the_last_ends():
    with quiet_collector():
        with quiet_collector():
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_the_pass_fails():
    with pytest.raises(RuntimeError), quiet_collector():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_before_the_pass_stays_frozen():
    gc.freeze()
    frozen = gc.get_freeze_count()
    with quiet_collector():
        pass
    assert gc.get_freeze_count() >= frozen > 0
    assert gc.get_threshold() == (700, 10, 10)


def test_automatic_collection_switched_off_stays_off():
    gc.set_threshold(0, 10, 10)
    with quiet_collector():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold() == (0, 10, 10)


def test_a_cycle_made_during_the_pass_is_still_collected():
    class Node:
        pass

    with quiet_collector():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
    gc.collect()
    assert ref() is None


def test_the_pump_runs_its_items_with_the_collector_held_back():
    seen = []
    pump = Pump(lambda item: seen.append(gc.get_threshold()[0]) or item, lambda answers: len(answers),
                lambda answers, exc: None, in_flight=2, grouping=Grouping(1, 4, 0.01, 1), name="test")
    try:
        result = pump.run([1, 2, 3])
    finally:
        pump.close()
    assert sum(result.written) == 3
    assert seen == [YOUNG_THRESHOLD] * 3
    assert gc.get_threshold() == (700, 10, 10)
