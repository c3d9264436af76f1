"""``authserver users``: end users who log in and consent."""

from __future__ import annotations

import sys

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.cli.common import operator
from authserver.db import db
from authserver.experience import experience
from authserver.sca.service import UserError


@click.group()
def users() -> None:
    """End users."""


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    # Piped: the first line is the password, so it never appears in argv or shell history.
    return sys.stdin.readline().rstrip("\r\n")


@users.command("create")
@click.argument("username")
@click.option("--totp", is_flag=True, help="Enrol TOTP and print its otpauth:// URI.")
@json_option
def create(username: str, totp: bool, as_json: bool) -> None:
    """Create a user; the password is read from standard input."""
    password = _read_password()
    with app_services():
        try:
            created = experience().users.create(username, password, actor=operator(), totp=totp)
        except UserError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        data = {"id": created.user.id, "username": created.user.username}
        if created.totp_uri:
            data["totp_uri"] = created.totp_uri
    emit(
        data,
        as_json,
        lambda d: (
            f"user {d['username']} created"
            + (f"\nTOTP: {d['totp_uri']}" if "totp_uri" in d else "")
        ),
    )


@users.command("reset-factors")
@click.argument("username")
@json_option
def reset_factors(username: str, as_json: bool) -> None:
    """Remove every second factor of a user and lift any lock (e.g. a lost phone).

    The user signs in with the password alone afterwards and enrols again at
    /account/security; the reset is an audit event.
    """
    with app_services():
        user = experience().factors.reset(username, actor=operator())
        if user is None:
            raise click.ClickException(f"user {username!r} does not exist")
        data = {"id": user.id, "username": user.username, "factors": []}
    emit(data, as_json, lambda d: f"user {d['username']}: second factors removed, lock lifted")
