"""The robot window in the store: worker processes on one store together keep to 20 messages a minute."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collabhub.connector import Delivery
from collabhub.errors import DeliveryError
from collabhub.store import Store
from collabhub.store.slots import StoreSendSlots
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub_dingtalk.connector import DingTalkConnector

from .conftest import Clock, make_connector


@pytest.fixture
def stores(store_url: str, clock: Clock) -> Iterator[tuple[Store, Store]]:
    """Two workers' stores on one database, on the simulator's clock."""
    first, second = Store(store_url, clock=clock), Store(store_url, clock=clock)
    first.upgrade()
    yield first, second
    first.dispose()
    second.dispose()


def _worker(sim: DingTalkSimulator, clock: Clock, store: Store) -> DingTalkConnector:
    connector = make_connector(sim, clock=clock)
    connector.context.send_slots = StoreSendSlots(store)
    return connector


def _card(i: int) -> Delivery:
    return Delivery(f"robot-{i}", "card", {"robot": "coordination"}, {"title": f"提醒 {i}", "text": f"第 {i} 条"})


async def test_two_workers_together_send_at_most_20_a_minute(clocked_sim: DingTalkSimulator, clock: Clock,
                                                             stores: tuple[Store, Store]) -> None:
    queued: list[tuple[int, float]] = []
    async with _worker(clocked_sim, clock, stores[0]) as a, _worker(clocked_sim, clock, stores[1]) as b:
        workers = (a.writers()["card"], b.writers()["card"])
        for i in range(30):
            try:
                await workers[i % 2].deliver(_card(i))
            except DeliveryError as exc:
                assert exc.retryable and exc.retry_after is not None and 0 < exc.retry_after <= 60
                queued.append((i, exc.retry_after))
            clock.advance(1)
        assert len(queued) == 10 and len(clocked_sim.robot().messages) == 20
        clock.advance(max(wait for _, wait in queued))
        for i, _ in queued:  # the outbox retries after the wait, on whichever worker
            await workers[(i + 1) % 2].deliver(_card(i))
    robot = clocked_sim.robot()
    assert len(robot.messages) == 30 and robot.rejected == 0


async def test_a_throttle_seen_by_one_worker_holds_the_other(clocked_sim: DingTalkSimulator, clock: Clock,
                                                             stores: tuple[Store, Store]) -> None:
    async with make_connector(clocked_sim, clock=clock, name="elsewhere") as outsider:  # not on the hub's store
        for i in range(20):
            await outsider.writers()["card"].deliver(Delivery(f"o{i}", "card", {}, {"text": "x"}))
    async with _worker(clocked_sim, clock, stores[0]) as a, _worker(clocked_sim, clock, stores[1]) as b:
        with pytest.raises(DeliveryError, match="throttled") as throttled:
            await a.writers()["card"].deliver(_card(1))
        assert throttled.value.retry_after == 600
        clock.advance(60)
        with pytest.raises(DeliveryError, match="already sent 20 messages") as held:
            await b.writers()["card"].deliver(_card(2))
        assert held.value.retry_after == pytest.approx(540)
    assert clocked_sim.robot().rejected == 1
