"""Identity tables: hub people, the per-system ids joined to them, and the review list.

The resolver (``collabhub.identity``) decides who is who; these methods only read and write.
Lookups match values exactly: pass emails, mobiles and employee ids already normalised.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from collabhub.store.db import StoreBase, chunked
from collabhub.store.rows import PersonRow, ReviewRow
from collabhub.store.schema import identity_review, people, person_identities

__all__ = ["IdentityMixin"]

PERSON_FIELDS = frozenset({"name", "email", "mobile", "employee_id", "departments"})
REVIEW_REASONS = ("unmatched", "ambiguous")


def _person(r: Row[Any]) -> PersonRow:
    return PersonRow(r.id, r.name, r.email, r.mobile, r.employee_id, list(r.departments), r.created_at, r.updated_at)


class IdentityMixin(StoreBase):
    """People, identities and identity review."""

    def identities_for(self, connector: str, external_ids: Sequence[str]) -> dict[str, int]:
        """external_id -> person_id for the ids of ``connector`` already joined to a person."""
        found: dict[str, int] = {}
        with self.read() as conn:
            for chunk in chunked(sorted(set(external_ids))):
                stmt = select(person_identities.c.external_id, person_identities.c.person_id).where(
                    person_identities.c.connector == connector, person_identities.c.external_id.in_(chunk)
                )
                found.update({r.external_id: int(r.person_id) for r in conn.execute(stmt)})
        return found

    def identities_of(self, person_id: int) -> list[tuple[str, str, str]]:
        """(connector, external_id, matched_by) of every system id joined to a person."""
        stmt = (
            select(person_identities.c.connector, person_identities.c.external_id, person_identities.c.matched_by)
            .where(person_identities.c.person_id == person_id)
            .order_by(person_identities.c.connector, person_identities.c.external_id)
        )
        with self.read() as conn:
            return [(r.connector, r.external_id, r.matched_by) for r in conn.execute(stmt)]

    def find_people(
        self, *, emails: Iterable[str] = (), mobiles: Iterable[str] = (), employee_ids: Iterable[str] = ()
    ) -> list[PersonRow]:
        """People whose email, mobile or employee id is among the given values (one query)."""
        conditions: list[ColumnElement[bool]] = []
        for column, values in ((people.c.email, emails), (people.c.mobile, mobiles),
                               (people.c.employee_id, employee_ids)):
            wanted = sorted({v for v in values if v})
            if wanted:
                conditions.append(column.in_(wanted))
        if not conditions:
            return []
        with self.read() as conn:
            return [_person(r) for r in conn.execute(select(people).where(or_(*conditions)).order_by(people.c.id))]

    def create_person(
        self, name: str, email: str | None = None, mobile: str | None = None, employee_id: str | None = None,
        departments: Sequence[str] = (),
    ) -> int:
        """Add a hub person; returns its id."""
        now = self.now()
        stmt = people.insert().values(
            name=name, email=email, mobile=mobile, employee_id=employee_id, departments=list(departments),
            created_at=now, updated_at=now,
        ).returning(people.c.id)
        with self.write() as conn:
            return int(conn.execute(stmt).scalar_one())

    def create_people(self, drafts: Sequence[Mapping[str, Any]]) -> list[int]:
        """Add several hub people in one transaction; ids come back in the order given.

        Each draft has ``name`` and optionally ``email``, ``mobile``, ``employee_id`` and
        ``departments`` (the arguments of :meth:`create_person`).
        """
        if not drafts:
            return []
        now = self.now()
        stmt = people.insert().returning(people.c.id)
        with self.write() as conn:
            return [
                int(conn.execute(stmt, {
                    "name": d["name"], "email": d.get("email"), "mobile": d.get("mobile"),
                    "employee_id": d.get("employee_id"), "departments": list(d.get("departments") or ()),
                    "created_at": now, "updated_at": now,
                }).scalar_one())
                for d in drafts
            ]

    def update_person(self, person_id: int, **fields: Any) -> None:
        """Change some of name, email, mobile, employee_id, departments."""
        unknown = set(fields) - PERSON_FIELDS
        if unknown:
            raise ValueError(f"unknown person fields {sorted(unknown)}; allowed: {sorted(PERSON_FIELDS)}")
        if "departments" in fields:
            fields["departments"] = list(fields["departments"])
        stmt = update(people).where(people.c.id == person_id).values(updated_at=self.now(), **fields)
        with self.write() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise ValueError(f"no person with id {person_id}")

    def set_departments(self, departments: Mapping[int, Sequence[str]]) -> None:
        """Replace the departments of several people in one transaction (person id -> departments)."""
        if not departments:
            return
        now = self.now()
        stmt = (update(people).where(people.c.id == bindparam("b_id"))
                .values(departments=bindparam("b_departments"), updated_at=bindparam("b_now")))
        with self.write() as conn:
            conn.execute(stmt, [{"b_id": pid, "b_departments": list(d), "b_now": now}
                                for pid, d in departments.items()])

    def get_person(self, person_id: int) -> PersonRow | None:
        with self.read() as conn:
            row = conn.execute(select(people).where(people.c.id == person_id)).first()
        return None if row is None else _person(row)

    def get_people(self, person_ids: Iterable[int]) -> dict[int, PersonRow]:
        """The people with these ids (one query per 500 ids); unknown ids are left out."""
        found: dict[int, PersonRow] = {}
        with self.read() as conn:
            for chunk in chunked(sorted(set(person_ids))):
                found.update((r.id, _person(r)) for r in conn.execute(select(people).where(people.c.id.in_(chunk))))
        return found

    def iter_people(self, *, batch_size: int = 1000) -> Iterator[PersonRow]:
        """Every person in id order, ``batch_size`` rows per query."""
        last_id = 0
        while True:
            stmt = select(people).where(people.c.id > last_id).order_by(people.c.id).limit(batch_size)
            with self.read() as conn:
                rows = conn.execute(stmt).all()
            yield from (_person(r) for r in rows)
            if len(rows) < batch_size:
                return
            last_id = rows[-1].id

    def link_identity(self, connector: str, external_id: str, person_id: int, matched_by: str) -> None:
        """Join a system id to a person (re-joining moves it)."""
        self.link_identities([(connector, external_id, person_id, matched_by)])

    def link_identities(self, rows: Iterable[tuple[str, str, int, str]]) -> None:
        """Bulk ``link_identity``: (connector, external_id, person_id, matched_by) tuples."""
        now = self.now()
        values = {
            (c, x): {"connector": c, "external_id": x, "person_id": p, "matched_by": m, "created_at": now}
            for c, x, p, m in rows
        }
        if not values:
            return
        with self.write() as conn:
            for chunk in chunked(list(values.values())):
                stmt = self.insert(person_identities)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[person_identities.c.connector, person_identities.c.external_id],
                    set_={"person_id": stmt.excluded.person_id, "matched_by": stmt.excluded.matched_by},
                )
                conn.execute(stmt, list(chunk))

    def add_review(self, connector: str, external_id: str, ref: dict[str, Any], reason: str,
                   candidates: Sequence[int] = ()) -> None:
        """Put a person reference on the review list (or refresh it: last_seen, reason, candidates)."""
        if reason not in REVIEW_REASONS:
            raise ValueError(f"review reason {reason!r} is not one of {', '.join(REVIEW_REASONS)}")
        now = self.now()
        stmt = self.insert(identity_review).values(
            connector=connector, external_id=external_id, ref=dict(ref), reason=reason,
            candidates=[int(c) for c in candidates], first_seen=now, last_seen=now, resolved=False,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[identity_review.c.connector, identity_review.c.external_id],
            set_={"ref": stmt.excluded.ref, "reason": stmt.excluded.reason, "candidates": stmt.excluded.candidates,
                  "last_seen": stmt.excluded.last_seen, "resolved": False},
        )
        with self.write() as conn:
            conn.execute(stmt)

    def review_items(self, include_resolved: bool = False) -> list[ReviewRow]:
        stmt = select(identity_review).order_by(identity_review.c.first_seen, identity_review.c.connector,
                                                identity_review.c.external_id)
        if not include_resolved:
            stmt = stmt.where(identity_review.c.resolved.is_(False))
        with self.read() as conn:
            return [
                ReviewRow(r.connector, r.external_id, r.ref, r.reason, list(r.candidates), r.first_seen,
                          r.last_seen, r.resolved)
                for r in conn.execute(stmt)
            ]

    def resolve_review(self, connector: str, external_id: str) -> None:
        stmt = update(identity_review).where(
            identity_review.c.connector == connector, identity_review.c.external_id == external_id
        ).values(resolved=True)
        with self.write() as conn:
            conn.execute(stmt)
