"""The end-to-end rules scenarios again, on PostgreSQL (skipped with a reason when it is unreachable)."""

from __future__ import annotations

import pytest

from collabhub.store import Store
from rules.test_acks import test_unacknowledged_items_are_listed_for_provider_and_office  # noqa: F401
from rules.test_digest import test_digest_is_edited_in_place, test_per_chat_daily_cap  # noqa: F401
from rules.test_dispatch import test_a_delivery_retried_after_a_timeout_is_made_once  # noqa: F401
from rules.test_freshness import test_breach_reminds_then_escalates_each_once  # noqa: F401
from rules.test_preview import test_preview_equals_what_the_next_cycle_delivers  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url, clock):
    store = Store(pg_url, clock=clock)
    store.upgrade()
    yield store
    store.dispose()
