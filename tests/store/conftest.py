"""Store fixtures: a migrated ``Store`` on each database with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collabhub.store import Store

from .helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(store_url: str, clock: Clock) -> Iterator[Store]:
    s = Store(store_url, clock=clock)
    s.upgrade()
    yield s
    s.dispose()
