"""``authserver db``: schema migrations through the one Alembic chain."""

from __future__ import annotations

import click

from authserver import migrate
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.settings import load_settings


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@json_option
def upgrade(revision: str, as_json: bool) -> None:
    """Migrate the database to REVISION (the newest by default)."""
    settings = load_settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.sqlalchemy_url, revision)
    current = migrate.current_revision(settings.sqlalchemy_url)
    emit({"revision": current}, as_json, lambda d: f"database at revision {d['revision']}")


@db_group.command("current")
@json_option
def current(as_json: bool) -> None:
    """Show the database's current revision."""
    revision = migrate.current_revision(load_settings().sqlalchemy_url)
    emit({"revision": revision}, as_json, lambda d: f"database at revision {d['revision']}")
