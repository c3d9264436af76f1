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
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import TypeDecorator
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import registry
from sqlalchemy.orm.session import Session as OrmSession

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
        if value.tzinfo is UTC:  # PostgreSQL sessions are in UTC (``setup_database``)
            return value
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


# Connections older than this are replaced at checkout, before a firewall or the server
# drops them; cheaper than a ping round trip on every checkout (pool_pre_ping).
POOL_RECYCLE_SECONDS = 1800


def _retries_dead_connection(session: OrmSession, fresh: bool, error: DBAPIError) -> bool:
    """Retry once when the first statement of a transaction met a dead pooled connection.

    ``fresh``: nothing of this transaction reached the database before the statement
    (no statement, no flush) and no ORM change is pending.

    Without ``pool_pre_ping`` a connection the server closed (restart, failover,
    ``pg_terminate_backend``) is only found out by using it. Nothing of the transaction
    has run yet at its first statement, so rolling back (which hands the invalidated
    connection back; the pool then replaces it) and running the statement again on a
    new connection is safe. Anything later is not retried: the caller's 503 stands.
    """
    if not (fresh and error.connection_invalidated):
        return False
    log.warning("database_connection_replaced", error_type=type(error.orig).__name__)
    session.rollback()
    return True


class RetryingSession(FlaskSession):
    """Flask-SQLAlchemy's session whose transaction survives a dead pooled connection
    on its first statement (see ``_retries_dead_connection``)."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        fresh = self._nothing_sent()
        try:
            return super().execute(*args, **kwargs)
        except DBAPIError as error:
            if not _retries_dead_connection(self, fresh, error):
                raise
            return super().execute(*args, **kwargs)

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        fresh = self._nothing_sent()
        try:
            return super().scalar(*args, **kwargs)
        except DBAPIError as error:
            if not _retries_dead_connection(self, fresh, error):
                raise
            return super().scalar(*args, **kwargs)

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        fresh = self._nothing_sent()
        try:
            return super().scalars(*args, **kwargs)
        except DBAPIError as error:
            if not _retries_dead_connection(self, fresh, error):
                raise
            return super().scalars(*args, **kwargs)

    def _nothing_sent(self) -> bool:
        """True when this statement will be the transaction's first and carries no pending
        ORM change: the rollback before a retry would silently drop pending objects (an
        autoflush would be the first statement), so then there is no retry."""
        if self.new or self.dirty or self.deleted:
            return False
        transaction = self.get_transaction()  # the root: it holds the connections
        # SQLAlchemy has no public "has this transaction a connection yet" question.
        return transaction is None or not transaction._connections


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


db = SessionSQLAlchemy(
    model_class=Base,
    # expire_on_commit stays on (SQLAlchemy's default): code that reads a row again after
    # a commit, such as a worker that claims what another process just changed, must see
    # the database, not a stale identity map. The token path reads no ORM row after its
    # commit (clients come from the cache as detached copies), so this costs it nothing.
    session_options={"class_": RetryingSession},
)


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
    options: dict[str, Any] = {"pool_recycle": POOL_RECYCLE_SECONDS, "hide_parameters": True}
    if url.startswith("postgresql") and "options" not in make_url(url).query:
        # Sessions in UTC: psycopg then hands back timestamps with ``datetime.UTC`` itself
        # (a server zone such as Etc/UTC gives a ZoneInfo), so reading one (a transactions
        # page has 200) needs no conversion. Only the zone object changes: every column
        # is timestamptz, read as UTC either way.
        options["connect_args"] = {"options": "-c TimeZone=UTC"}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", options)
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            engine: Engine = db.engine
            event.listen(engine, "connect", _sqlite_pragmas)
