"""SQLAlchemy declarative base, naming convention and the Flask-SQLAlchemy session.

Schema changes go only through Alembic revisions under ``migrations/``; the app
never creates tables by itself. The naming convention keeps constraint names stable
across SQLite and PostgreSQL so autogenerate does not see phantom drift.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from typing import Any

import structlog
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import TypeDecorator
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Flask-SQLAlchemy subclasses this base, so the annotation map lives on the registry.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class UUIDPrimaryKey:
    """String UUID primary key: portable across SQLite and PostgreSQL and safe to expose."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))


log = structlog.get_logger(__name__)


class SessionSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose end-of-request session removal can never change a response."""

    def _teardown_session(self, exc: BaseException | None) -> None:
        try:
            super()._teardown_session(exc)
        except Exception as error:  # noqa: BLE001
            # Broad on purpose: teardown runs after the response is built, and anything
            # raised here (a rollback on a dead connection, a driver bug) would replace a
            # finished answer with the WSGI server's bare 500 page. The pool invalidates
            # the connection; the request is over either way.
            log.error("session_teardown_failed", error_type=type(error).__name__)
            self.session.registry.clear()


db = SessionSQLAlchemy(model_class=Base)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # WAL: readers never block the one writer (nor it them), and a commit appends to one
    # file instead of a rollback journal plus the database: several processes on one file
    # (two gunicorn workers) then queue only on writes, which are short.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def setup_database(app: Flask, url: str) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    # hide_parameters: a statement's parameters (token hashes, ids) never reach a log.
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True, "hide_parameters": True}
    )
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            engine: Engine = db.engine
            event.listen(engine, "connect", _sqlite_pragmas)
