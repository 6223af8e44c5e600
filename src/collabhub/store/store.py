"""``Store``: the one object the rest of collabhub uses to reach the database."""

from __future__ import annotations

from collabhub.store.entities import EntityReadMixin
from collabhub.store.events import EventMixin
from collabhub.store.identity import IdentityMixin
from collabhub.store.outbox import OutboxMixin
from collabhub.store.pages import PageMixin
from collabhub.store.runs import RunMixin
from collabhub.store.slots import SlotMixin

__all__ = ["Store"]


class Store(PageMixin, EntityReadMixin, RunMixin, OutboxMixin, EventMixin, IdentityMixin, SlotMixin):
    """Entities, changes, cursors, runs, locks, quarantine, outbox, links, inbound events, identity, send slots.

    ``Store(url)`` connects lazily; call ``upgrade()`` once (CLI ``db upgrade``, start of a sync)
    to bring the schema to head. Every method runs in its own short transaction and is safe
    to call from several processes against the same database.
    """
