"""What every command shares: building the app, printing for people or for scripts."""

from __future__ import annotations

import getpass
import json
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
from authserver.settings import load_settings

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def build_app() -> Flask:
    return create_app(load_settings())


@contextmanager
def app_services(require_schema: bool = True) -> Iterator[Services]:
    app = build_app()
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
