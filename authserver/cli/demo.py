"""``authserver demo``: a ready-to-try server with a demo TPP and a demo user.

The demo client's private key and the demo user's password are written to the
instance folder (git-ignored, mode 0600): they are development material only.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import click
from joserfc import jwk

from authserver import migrate
from authserver.accounts.seed import seed_demo_accounts
from authserver.accounts.sql import SqlAccountProvider
from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.clients.service import ClientRequest
from authserver.context import Services
from authserver.crypto.envelope import Envelope
from authserver.crypto.master_key import load_master_key
from authserver.crypto.subkeys import account_data_key
from authserver.db import db
from authserver.experience import experience
from authserver.sca.service import UserError
from authserver.settings import load_settings

DEMO_CLIENT_ID = "demo-tpp"
DEMO_USERNAME = "alice"
DEMO_TPP_PORT = 5001
"""Where examples/tpp listens; its loopback callback is the demo client's redirect URI."""
DEMO_REDIRECT_URI = f"http://127.0.0.1:{DEMO_TPP_PORT}/callback"


def _write_private(path: Path, data: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file may have looser permissions
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)


def _demo_client(svc: Services) -> Path:
    path = svc.settings.instance_path.resolve() / "demo-client-private.jwk.json"
    if svc.clients.get(DEMO_CLIENT_ID) is not None:
        return path
    key = jwk.ECKey.generate_key("P-256", private=True)
    key = jwk.import_key(
        key.as_dict(private=True), parameters={"kid": key.thumbprint(), "alg": "ES256"}
    )  # type: ignore[assignment]
    _write_private(path, {"test_only": True, **key.as_dict(private=True)})
    svc.clients.create(
        ClientRequest(
            client_name="Demo TPP (test only)",
            client_id=DEMO_CLIENT_ID,
            redirect_uris=[DEMO_REDIRECT_URI],
            scopes=["openid", "accounts:read", "payments:write"],
            jwks={"keys": [key.as_dict(private=False)]},
        ),
        actor="operator:demo",
    )
    return path


def _demo_user(svc: Services) -> dict[str, str]:
    path = svc.settings.instance_path.resolve() / "demo-user.json"
    if experience().users.get(DEMO_USERNAME) is not None and path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    password = secrets.token_urlsafe(12)
    try:
        created = experience().users.create(
            DEMO_USERNAME, password, actor="operator:demo", totp=True
        )
    except UserError as exc:
        # The user exists but its credentials file is gone: the password cannot be shown again.
        raise click.ClickException(f"{exc}, but {path} is missing; use a fresh database") from None
    data = {
        "username": DEMO_USERNAME,
        "password": password,
        "totp_secret": created.totp_secret or "",
        "totp_uri": created.totp_uri or "",
    }
    _write_private(path, data)
    return data


def _demo_accounts(svc: Services) -> None:
    """A current and a savings account with a year of transactions for the demo user
    (deterministic; nothing changes when the user already has accounts)."""
    found = experience().users.get(DEMO_USERNAME)
    if found is None:
        return
    key = account_data_key(svc.settings, load_master_key(svc.settings))
    if seed_demo_accounts(SqlAccountProvider(Envelope(key)), found.id, svc.clock.now()):
        db.session.commit()


@click.command()
@json_option
def demo(as_json: bool) -> None:
    """Migrate; create keys, a demo TPP client, a demo user and accounts; print how to use them."""
    settings = load_settings()
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.sqlalchemy_url)
    with app_services() as svc:
        svc.keys.ensure_keys()
        key_path = _demo_client(svc)
        user = _demo_user(svc)
        _demo_accounts(svc)
    data = {
        "issuer": settings.issuer,
        "discovery": f"{settings.issuer}/.well-known/openid-configuration",
        "jwks": f"{settings.issuer}/jwks",
        "client_id": DEMO_CLIENT_ID,
        "client_private_jwk": str(key_path),
        "redirect_uri": DEMO_REDIRECT_URI,
        **user,
    }
    emit(
        data,
        as_json,
        lambda d: (
            "demo data ready (test-only credentials):\n"
            + "\n".join(f"  {key}: {value}" for key, value in d.items())
        ),
    )
