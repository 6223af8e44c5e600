"""Send slots: a sliding send-rate window per key, shared by every process on the store.

A remote may allow only so many messages a minute (a DingTalk group robot: 20) and punish more
(410100: ten minutes of silence). Worker processes on one store share the window here: each
message sent takes a slot, a row ``(key, at)``; a row leaves the window ``window`` seconds after
its ``at``. A throttle the remote imposed is stored as a full window of rows that leave it when
the throttle ends, so every process waits it out.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import Connection, delete, func, insert, select

from collabhub.store.db import StoreBase
from collabhub.store.schema import send_slots

__all__ = ["SlotMixin", "StoreSendSlots"]


def _lock_key(key: str) -> int:
    """A stable signed 64-bit advisory lock key for ``key`` (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(f"send_slots:{key}".encode(), digest_size=8).digest(), "big", signed=True)


class SlotMixin(StoreBase):
    """``take_send_slot`` and ``block_send_key``."""

    def _lock_slots(self, conn: Connection, key: str) -> None:
        # PostgreSQL: workers queue up per key; SQLite's BEGIN IMMEDIATE already lets one writer in.
        self.advisory_lock(conn, _lock_key(key))

    def take_send_slot(self, key: str, limit: int, window_seconds: float) -> float:
        """Take one of ``limit`` slots per ``window_seconds`` for ``key``: 0.0 when taken, else the seconds to wait.

        Nothing is taken when the window is full; the answer is when it next has room.
        """
        now = self.now()
        window = timedelta(seconds=window_seconds)
        mine = send_slots.c.key == key
        with self.write() as conn:
            self._lock_slots(conn, key)
            conn.execute(delete(send_slots).where(mine, send_slots.c.at <= now - window))
            taken = conn.execute(select(func.count()).select_from(send_slots).where(mine)).scalar_one()
            if taken < limit:
                conn.execute(insert(send_slots).values(key=key, at=now))
                return 0.0
            # room once all but limit - 1 of the rows have left the window
            frees = conn.execute(select(send_slots.c.at).where(mine).order_by(send_slots.c.at)
                                 .offset(taken - limit).limit(1)).scalar_one()
        return (frees + window - now).total_seconds()

    def block_send_key(self, key: str, seconds: float, limit: int, window_seconds: float) -> None:
        """Fill ``key``'s window (``limit`` slots per ``window_seconds``) until ``seconds`` from now."""
        at = self.now() + timedelta(seconds=seconds - window_seconds)
        with self.write() as conn:
            self._lock_slots(conn, key)
            conn.execute(insert(send_slots), [{"key": key, "at": at}] * limit)


class StoreSendSlots:
    """The store's send slots for ``ConnectorContext.send_slots`` (store calls in a worker thread)."""

    def __init__(self, store: SlotMixin) -> None:
        self.store = store

    async def take(self, key: str, limit: int, window: float) -> float:
        return await asyncio.to_thread(self.store.take_send_slot, key, limit, window)

    async def block(self, key: str, seconds: float, limit: int, window: float) -> None:
        await asyncio.to_thread(self.store.block_send_key, key, seconds, limit, window)
