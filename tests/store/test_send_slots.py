"""Send slots: a sliding send-rate window per key, shared by every Store on the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from collabhub.store import Store
from collabhub.store.slots import StoreSendSlots

from .helpers import Clock

KEY = "dingtalk:dt:robot:ops"


def test_the_window_fills_and_says_when_it_has_room(store: Store, clock: Clock) -> None:
    for _ in range(3):
        assert store.take_send_slot(KEY, 3, 60) == 0.0
        clock.advance(10)
    assert store.take_send_slot(KEY, 3, 60) == pytest.approx(30)  # the first send leaves at t=60
    assert store.take_send_slot("dingtalk:dt:robot:other", 3, 60) == 0.0  # keys are independent
    clock.advance(30)
    assert store.take_send_slot(KEY, 3, 60) == 0.0
    assert store.take_send_slot(KEY, 3, 60) == pytest.approx(10)  # a refusal takes no slot


def test_the_window_slides_with_the_store_clock(store: Store, clock: Clock) -> None:
    taken = 0
    for _ in range(120):  # two minutes, one try a second
        if store.take_send_slot(KEY, 20, 60) == 0.0:
            taken += 1
        clock.advance(1)
    assert taken == 40


def test_a_block_is_honoured_then_the_full_window_is_back(store: Store, clock: Clock) -> None:
    assert store.take_send_slot(KEY, 20, 60) == 0.0
    store.block_send_key(KEY, 600, 20, 60)
    assert store.take_send_slot(KEY, 20, 60) == pytest.approx(600)
    clock.advance(599)
    assert store.take_send_slot(KEY, 20, 60) == pytest.approx(1)
    clock.advance(1)
    assert [store.take_send_slot(KEY, 20, 60) for _ in range(21)] == [0.0] * 20 + [pytest.approx(60)]


def test_two_stores_on_one_database_share_the_window(store: Store, store_url: str, clock: Clock) -> None:
    other = Store(store_url, clock=clock)  # another worker process
    try:
        waits = [(store if i % 2 else other).take_send_slot(KEY, 20, 60) for i in range(30)]
        assert waits.count(0.0) == 20 and waits[20:] == [pytest.approx(60)] * 10
        other.block_send_key(KEY, 600, 20, 60)
        clock.advance(60)
        assert store.take_send_slot(KEY, 20, 60) == pytest.approx(540)
    finally:
        other.dispose()


async def test_store_send_slots_run_the_store_calls(store: Store, clock: Clock) -> None:
    slots = StoreSendSlots(store)
    assert await slots.take(KEY, 1, 60) == 0.0
    assert await slots.take(KEY, 1, 60) == pytest.approx(60)
    await slots.block(KEY, 120, 1, 60)
    clock.advance(60)
    assert await slots.take(KEY, 1, 60) == pytest.approx(60)


def test_concurrent_workers_never_take_more_than_the_limit(store: Store, store_url: str) -> None:
    other = Store(store_url, clock=store.now)  # the same (frozen) clock: every take is in one window
    try:
        with ThreadPoolExecutor(8) as pool:
            waits = list(pool.map(lambda i: (store, other)[i % 2].take_send_slot(KEY, 20, 60), range(40)))
        assert waits.count(0.0) == 20
    finally:
        other.dispose()
