"""Sync runs, lease locks (one run per connector across processes) and the quarantine list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from collabhub.store.db import StoreBase
from collabhub.store.rows import RUN_STATUSES, QuarantineRow, RunRow
from collabhub.store.schema import locks, quarantine, runs

__all__ = ["RunMixin"]


class RunMixin(StoreBase):
    """Runs, locks and quarantine listings."""

    # -- runs ----------------------------------------------------------------------------

    def start_run(self, connector: str, *, trigger: str = "manual") -> int:
        """Record the start of a run; returns its id (status ``running``)."""
        stmt = runs.insert().values(
            connector=connector, trigger=trigger, status="running", started_at=self.now(), counts={}, errors=[]
        ).returning(runs.c.id)
        with self.write() as conn:
            return int(conn.execute(stmt).scalar_one())

    def finish_run(
        self, run_id: int, *, status: str, counts: Mapping[str, Mapping[str, int]], errors: Sequence[str]
    ) -> None:
        """Close a run with ``status`` (ok, partial, failed or interrupted), its per-stream counts and errors."""
        if status not in RUN_STATUSES:
            raise ValueError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
        stmt = (
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status=status,
                finished_at=self.now(),
                counts={name: dict(c) for name, c in counts.items()},
                errors=[str(e) for e in errors],
            )
        )
        with self.write() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise ValueError(f"no run with id {run_id}; pass the id start_run returned")

    def recent_runs(self, *, connector: str | None = None, limit: int = 20) -> list[RunRow]:
        """Newest runs first."""
        stmt = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if connector is not None:
            stmt = stmt.where(runs.c.connector == connector)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            RunRow(r.id, r.connector, r.trigger, r.status, r.started_at, r.finished_at, r.counts, r.errors)
            for r in rows
        ]

    # -- locks ---------------------------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lease ``name`` for ``ttl_seconds``: free, expired, or already ours. False when held.

        The lease lives only in the ``locks`` table, so it works the same across processes and
        machines; the holder must ``renew_lock`` before it expires.
        """
        now = self.now()
        stmt = self.insert(locks).values(name=name, owner=owner, acquired_at=now,
                                         expires_at=now + timedelta(seconds=ttl_seconds))
        stmt = stmt.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={"owner": stmt.excluded.owner, "acquired_at": stmt.excluded.acquired_at,
                  "expires_at": stmt.excluded.expires_at},
            where=or_(locks.c.expires_at <= now, locks.c.owner == owner),
        )
        with self.write() as conn:
            conn.execute(stmt)
            holder = conn.execute(select(locks.c.owner).where(locks.c.name == name)).scalar()
        return holder == owner

    def renew_lock(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Extend our lease; False when someone else holds it now (or it was released)."""
        stmt = (
            update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(expires_at=self.now() + timedelta(seconds=ttl_seconds))
        )
        with self.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def lock_owner(self, name: str) -> str | None:
        """Who holds the lease ``name`` now (expired or not), or None."""
        with self.read() as conn:
            return conn.execute(select(locks.c.owner).where(locks.c.name == name)).scalar()

    def release_lock(self, name: str, owner: str) -> None:
        """Give the lease back (a no-op when ``owner`` does not hold it)."""
        with self.write() as conn:
            conn.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))

    # -- quarantine ----------------------------------------------------------------------

    def quarantined(self, *, connector: str | None = None, limit: int = 100) -> list[QuarantineRow]:
        """Unresolved quarantined records, newest first."""
        stmt = select(quarantine).where(quarantine.c.resolved.is_(False)).order_by(quarantine.c.id.desc()).limit(limit)
        if connector is not None:
            stmt = stmt.where(quarantine.c.connector == connector)
        with self.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            QuarantineRow(r.id, r.connector, r.stream, r.external_id, r.reason, r.raw, r.run_id, r.at,
                          r.resolved, r.resolved_at)
            for r in rows
        ]

    def count_quarantined(self, connector: str | None = None) -> int:
        """How many quarantined records are still unresolved."""
        stmt = select(func.count()).select_from(quarantine).where(quarantine.c.resolved.is_(False))
        if connector is not None:
            stmt = stmt.where(quarantine.c.connector == connector)
        with self.read() as conn:
            return int(conn.execute(stmt).scalar_one())
