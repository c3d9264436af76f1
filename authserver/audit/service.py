"""Recording, chaining, verifying and exporting the audit trail.

A request stores its event with one INSERT: no lock, no read of the last row, so token
requests in every process never queue on one another. A chainer (a background thread in
each serving process, one at a time; ``authserver audit chain``) later links committed,
unchained rows in batches under one lock per batch. Each linked row's hash covers its
own fields and the previous link's hash, so altering, reordering or removing a chained
row breaks every link after it; ``verify`` names the first, and reports the window of
events stored but not yet chained (too old a window is a failure: the chainer stopped).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol

from sqlalchemy import Connection
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from authserver.audit.models import AuditEvent
from authserver.clock import Clock
from authserver.db import db
from authserver.masking import mask

GENESIS = "0" * 64
# Serialises chainers on PostgreSQL across processes (advisory lock key); requests never take it.
_PG_LOCK_KEY = 0x61756469  # "audi"
CHAIN_BATCH = 1000
"""Rows linked per transaction: one lock, two reads and one executemany per batch."""

_TABLE: Table = AuditEvent.__table__  # type: ignore[assignment]
_APPEND = _TABLE.insert().inline()


class HashedEvent(Protocol):
    """The fields a link's hash covers (an ORM row or a Core result row)."""

    @property
    def id(self) -> int: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def event_type(self) -> str: ...
    @property
    def request_id(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def changes(self) -> dict[str, Any]: ...
    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None
    unchained: int = 0
    """Events stored but not linked yet (the chainer's window)."""
    oldest_unchained_seconds: float | None = None
    """Age of the oldest of them, by its timestamp; None when there are none."""


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(row: HashedEvent, prev_hash: str) -> str:
    """The link hash; unchanged since revision 0001, so rows chained then still verify."""
    body = {
        "id": row.id,
        "timestamp": _canonical_time(row.timestamp),
        "event_type": row.event_type,
        "request_id": row.request_id,
        "actor": row.actor,
        "resource": row.resource,
        "changes": row.changes,
        "outcome": row.outcome,
        "prev_hash": prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def to_json(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "timestamp": _canonical_time(row.timestamp),
        "event_type": row.event_type,
        "trace": row.request_id,
        "actor": row.actor,
        "resource": row.resource,
        "changes": row.changes,
        "outcome": row.outcome,
        "chain_seq": row.chain_seq,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


class AuditTrail:
    def __init__(self, clock: Clock, *, max_unchained_seconds: float = 60.0) -> None:
        self._clock = clock
        self._max_unchained_seconds = max_unchained_seconds

    def record(
        self,
        event_type: str,
        *,
        actor: str,
        resource: str,
        outcome: str = "success",
        changes: dict[str, Any] | None = None,
        request_id: str = "-",
        commit: bool = True,
    ) -> AuditEvent:
        """Store one event and commit it with the caller's pending unit of work.

        The action and its audit row land together or not at all. PII and secrets in
        ``changes`` are masked before they are stored. ``commit=False`` only stages the
        row, for a caller that commits its unit of work itself. The row is one INSERT
        with a database-given id; it is linked into the chain later (``chain``), so no
        request waits on a lock shared by every process.
        """
        row = AuditEvent(
            timestamp=self._clock.now(),
            event_type=event_type,
            request_id=request_id,
            actor=actor,
            resource=resource,
            changes=mask(changes or {}),
            outcome=outcome,
        )
        db.session.add(row)
        if commit:
            db.session.commit()
        return row

    def append(
        self,
        event_type: str,
        *,
        actor: str,
        resource: str,
        changes: dict[str, Any],
        request_id: str = "-",
        outcome: str = "success",
        commit: bool = True,
    ) -> None:
        """``record`` (masked, then committed with the caller's unit of work) for a hot
        path that never looks at the stored row: one Core INSERT on the session's
        connection, without building, flushing and expiring an ORM entity. A data read
        appends one per request, and the ORM path was a third of that request's CPU (a
        fifth of a token's). ``commit=False`` leaves the commit to the caller, whose
        unit of work then carries the row. The INSERT is ``inline``: nothing needs the new
        id, so PostgreSQL is not asked to return it."""
        db.session.connection().execute(
            _APPEND,
            {
                "timestamp": self._clock.now(),
                "event_type": event_type,
                "request_id": request_id,
                "actor": actor,
                "resource": resource,
                "changes": mask(changes),
                "outcome": outcome,
            },
        )
        if commit:
            db.session.commit()

    # -- chaining ---------------------------------------------------------------------

    def chain(self, *, wait: bool = True) -> int:
        """Link every committed, unchained event; returns how many were linked.

        ``wait=False`` (the background chainer) gives up at once when another process
        is chaining, as that one links these rows too.
        """
        total = 0
        while True:
            with db.engine.connect() as connection:
                linked = _chain_batch(connection, wait=wait)
            if linked is None:
                return total
            total += linked
            if linked < CHAIN_BATCH:
                return total

    # -- reading ----------------------------------------------------------------------

    def iter_events(self, since: datetime | None = None) -> Generator[AuditEvent, None, None]:
        """Chained events in chain order, then the unchained ones in id order."""
        query = select(AuditEvent).order_by(
            AuditEvent.chain_seq.is_(None), AuditEvent.chain_seq, AuditEvent.id
        )
        if since is not None:
            query = query.where(AuditEvent.timestamp >= since)
        yield from self._stream(query)

    def _stream(self, query: Any) -> Generator[AuditEvent, None, None]:
        result = db.session.scalars(query.execution_options(yield_per=500))
        try:
            yield from result
        finally:
            # A caller that stops early (verify at a broken row) must not leave the
            # server-side cursor (PostgreSQL) open until garbage collection.
            result.close()

    def verify(self) -> ChainReport:
        """Walk the chain from its first link; report the first broken one, then the window.

        Read-only: it does not chain, so a chainer that stopped shows up as a window
        older than ``max_unchained_seconds``, which fails.
        """
        expected_prev = GENESIS
        checked = 0
        expected_seq = 1
        chained = select(AuditEvent).where(AuditEvent.chain_seq.is_not(None))
        with closing(self._stream(chained.order_by(AuditEvent.chain_seq))) as rows:
            for row in rows:
                if row.chain_seq != expected_seq:
                    reason = f"chain position {expected_seq} is missing"
                    return ChainReport(False, checked, row.id, reason)
                if row.prev_hash != expected_prev:
                    return ChainReport(False, checked, row.id, "prev_hash does not match")
                if compute_hash(row, expected_prev) != row.hash:
                    return ChainReport(
                        False, checked, row.id, "row content does not match its hash"
                    )
                expected_prev = row.hash
                expected_seq += 1
                checked += 1
        count, oldest_time, oldest_id = db.session.execute(
            select(func.count(), func.min(AuditEvent.timestamp), func.min(AuditEvent.id)).where(
                AuditEvent.chain_seq.is_(None)
            )
        ).one()
        db.session.rollback()  # end the read transaction; verify holds nothing open
        if not count:
            return ChainReport(True, checked)
        age = max(0.0, (self._clock.now() - oldest_time).total_seconds())
        if age > self._max_unchained_seconds:
            reason = (
                f"{count} events unchained, the oldest for {age:.0f} s "
                f"(bound {self._max_unchained_seconds:g} s): is the chainer running?"
            )
            return ChainReport(False, checked, oldest_id, reason, count, age)
        return ChainReport(True, checked, None, None, count, age)


def _chain_batch(connection: Connection, *, wait: bool) -> int | None:
    """Link up to CHAIN_BATCH unchained rows in one transaction; None if the lock is taken.

    The lock makes "read the last link, append after it" atomic across processes. Rows
    are linked in the order this chainer sees them committed: a row with a smaller id
    that commits later simply gets a later position, so none is skipped.
    """
    if connection.dialect.name == "postgresql":
        if wait:
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        elif not connection.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}
        ).scalar_one():
            connection.rollback()
            return None
    else:
        # SQLite: take the write lock before reading the last link (busy_timeout waits).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    last = connection.execute(
        select(_TABLE.c.chain_seq, _TABLE.c.hash)
        .where(_TABLE.c.chain_seq.is_not(None))
        .order_by(_TABLE.c.chain_seq.desc())
        .limit(1)
    ).first()
    rows = connection.execute(
        select(_TABLE).where(_TABLE.c.chain_seq.is_(None)).order_by(_TABLE.c.id).limit(CHAIN_BATCH)
    ).all()
    if not rows:
        connection.rollback()
        return 0
    seq, prev = (int(last.chain_seq), str(last.hash)) if last is not None else (0, GENESIS)
    links: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        link = compute_hash(row, prev)
        links.append({"row_id": row.id, "seq": seq, "prev": prev, "link": link})
        prev = link
    connection.execute(
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("row_id"))
        .values(chain_seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("link")),
        links,
    )
    connection.commit()
    return len(rows)
