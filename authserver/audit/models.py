"""Audit events: append-only rows, linked into a hash chain once, after they are stored.

A request stores its event with one INSERT (the id comes from the database). A chainer
later sets ``chain_seq``, ``prev_hash`` and ``hash`` exactly once; database triggers (see
migrations 0001 and 0009) refuse every other UPDATE and every DELETE, so the application
cannot rewrite history even by mistake.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Identity
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from authserver.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        # The chainer's work list: only the (few) rows not linked yet are in this index.
        Index(
            "ix_audit_events_unchained",
            "id",
            sqlite_where=text("chain_seq IS NULL"),
            postgresql_where=text("chain_seq IS NULL"),
        ),
    )

    # An identity on PostgreSQL; on SQLite INTEGER PRIMARY KEY is the rowid, given out
    # under the database's write lock, so concurrent processes never collide.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(index=True)
    event_type: Mapped[str] = mapped_column(String(100), index=True)
    request_id: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(20))
    # Position in the chain: the order the chainer saw the rows commit, not id order
    # (ids from a sequence commit out of order). NULL until chained, then never changed.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)
