"""Fixtures for the rules tests: a migrated SQLite store on a movable clock, and a fake remote."""

from __future__ import annotations

import pytest

from collabhub.store import Store
from rules.helpers import Clock, Remote


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(sqlite_url: str, clock: Clock):
    store = Store(sqlite_url, clock=clock)
    store.upgrade()
    yield store
    store.dispose()


@pytest.fixture
def remote() -> Remote:
    return Remote()
