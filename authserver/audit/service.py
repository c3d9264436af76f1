"""Recording, verifying and exporting the audit chain.

Each row's hash covers its own fields and the previous row's hash, so altering,
reordering or removing a row breaks every link after it; ``verify`` names the first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy import text

from authserver.audit.models import AuditEvent
from authserver.clock import Clock
from authserver.db import db
from authserver.masking import mask

GENESIS = "0" * 64
# Serialises appends on PostgreSQL across processes (pg_advisory_xact_lock key).
_PG_LOCK_KEY = 0x61756469  # "audi"
_local_lock = threading.Lock()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(row: AuditEvent, prev_hash: str) -> str:
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
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


class AuditTrail:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

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
        """Append one event and commit it with the caller's pending unit of work.

        The action and its audit row land together or not at all. PII and secrets in
        ``changes`` are masked before they are stored. ``commit=False`` stages the row for
        a caller that records several events of one unit of work (a payment and the
        consent it consumes) and commits through the last of them.
        """
        with _local_lock:
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            last = db.session.execute(
                select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
            ).first()
            prev_hash = last.hash if last else GENESIS
            row = AuditEvent(
                id=(last.id + 1) if last else 1,
                timestamp=self._clock.now(),
                event_type=event_type,
                request_id=request_id,
                actor=actor,
                resource=resource,
                changes=mask(changes or {}),
                outcome=outcome,
                prev_hash=prev_hash,
            )
            row.hash = compute_hash(row, prev_hash)
            db.session.add(row)
            if commit:
                db.session.commit()
            else:
                db.session.flush()  # the next event of this unit of work reads it as last
            return row

    def iter_events(self, since: datetime | None = None) -> Generator[AuditEvent, None, None]:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if since is not None:
            query = query.where(AuditEvent.timestamp >= since)
        result = db.session.scalars(query.execution_options(yield_per=500))
        try:
            yield from result
        finally:
            # A caller that stops early (verify at a broken row) must not leave the
            # server-side cursor (PostgreSQL) open until garbage collection.
            result.close()

    def verify(self) -> ChainReport:
        """Walk the chain from the first row; report the first row whose link or hash is wrong."""
        expected_prev = GENESIS
        checked = 0
        expected_id = 1
        with closing(self.iter_events()) as rows:
            for row in rows:
                if row.id != expected_id:
                    return ChainReport(False, checked, row.id, f"row {expected_id} is missing")
                if row.prev_hash != expected_prev:
                    return ChainReport(False, checked, row.id, "prev_hash does not match")
                if compute_hash(row, row.prev_hash) != row.hash:
                    return ChainReport(
                        False, checked, row.id, "row content does not match its hash"
                    )
                expected_prev = row.hash
                expected_id += 1
                checked += 1
        return ChainReport(True, checked)
