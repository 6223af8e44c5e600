"""``Store``: the one object the rest of collabhub uses to reach the database."""

from __future__ import annotations

from collabhub.store.entities import EntityReadMixin
from collabhub.store.events import EventMixin
from collabhub.store.identity import IdentityMixin
from collabhub.store.outbox import OutboxMixin
from collabhub.store.pages import PageMixin
from collabhub.store.runs import RunMixin

__all__ = ["Store"]


class Store(PageMixin, EntityReadMixin, RunMixin, OutboxMixin, EventMixin, IdentityMixin):
    """Entities, changes, cursors, runs, locks, quarantine, outbox, links, inbound events and identity.

    ``Store(url)`` connects lazily; call ``upgrade()`` once (CLI ``db upgrade``, start of a sync)
    to bring the schema to head. Every method runs in its own short transaction and is safe
    to call from several processes against the same database.
    """
