"""One Alembic chain: models and migrations never drift, and the chain runs down and up."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from authserver import migrate
from tests.conftest import TEST_DATABASE_URL


def test_models_match_migrations(database_url: str) -> None:
    assert migrate.drift(database_url) == []


def test_chain_runs_down_to_base_and_back_up(database_url: str) -> None:
    migrate.downgrade(database_url, "base")
    engine = sa.create_engine(database_url, poolclass=NullPool)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) is not None
    assert migrate.drift(database_url) == []


def test_app_never_calls_create_all() -> None:
    package = Path(migrate.__file__).parent
    offenders = [str(path) for path in package.rglob("*.py") if "create_all(" in path.read_text()]
    assert offenders == []


def test_postgres_backend_is_really_used_when_configured(database_url: str) -> None:
    expected = "postgresql" if TEST_DATABASE_URL else "sqlite"
    assert sa.make_url(database_url).get_backend_name() == expected
