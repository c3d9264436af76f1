"""What every command shares: building the app, printing for people or for scripts."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import TypeVar

import click
from flask import Flask

from authserver import create_app
from authserver import migrate
from authserver.context import Services
from authserver.context import services
from authserver.settings import Settings
from authserver.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def verbose() -> bool:
    """Whether the operator passed ``authserver --verbose``."""
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("verbose"))


def build_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    if not verbose():
        # An operator reads one line per outcome; the JSON event logs (a store warning
        # before the one-line error, say) are for servers, which `run` keeps, and --verbose.
        # Set before the app is built: building it already reads the store and the keys.
        settings = settings.model_copy(update={"log_level": "ERROR"})
    app = create_app(settings)
    if not verbose():
        logging.getLogger().setLevel(logging.ERROR)
    return app


@contextmanager
def app_services(
    require_schema: bool = True, settings: Settings | None = None
) -> Iterator[Services]:
    app = build_app(settings)
    with app.app_context():
        found = services(app)
        if require_schema and migrate.current_revision(found.settings.sqlalchemy_url) is None:
            raise click.ClickException("the database is not migrated: run `authserver db upgrade`")
        yield found


def operator() -> str:
    """Who acts, for the audit trail: the operating-system account running the CLI."""
    try:
        return f"operator:{getpass.getuser()}"
    except OSError:
        return "operator:unknown"


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(human(data))
