"""``authserver revoke``: end every token of a client, a user or a consent.

The same service as the admin API and the consent pages: SQL first, then every
resource server through the store. A client is also disabled (compromised keys).
"""

from __future__ import annotations

from typing import Any

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.cli.common import operator
from authserver.db import db
from authserver.experience import experience
from authserver.store import StoreUnavailableError
from authserver.tokens.revocation import RevocationTargetNotFoundError


def _describe(data: dict[str, Any]) -> str:
    return (
        f"revoked every token of {data['kind']} {data['id']} issued at or before "
        f"{data['revoked_before']} ({data['refresh_tokens_revoked']} refresh tokens)"
    )


@click.command()
@click.option("--client", "client_id", default=None, help="Also disables the client.")
@click.option("--user", "user", default=None, help="Username or user id.")
@click.option("--consent", "consent_id", default=None, help="Consent id.")
@click.option("--reason", default="operator request", show_default=True)
@json_option
def revoke(
    client_id: str | None,
    user: str | None,
    consent_id: str | None,
    reason: str,
    as_json: bool,
) -> None:
    """Revoke all tokens of exactly one client, user or consent."""
    if sum(value is not None for value in (client_id, user, consent_id)) != 1:
        raise click.UsageError("give exactly one of --client, --user or --consent")
    with app_services() as svc:
        actor = operator()
        try:
            if client_id is not None:
                result = svc.revocations.revoke_client(client_id, actor=actor, reason=reason)
            elif user is not None:
                found = experience().users.get(user)
                user_id = found.id if found is not None else user
                result = svc.revocations.revoke_user(user_id, actor=actor, reason=reason)
            else:
                assert consent_id is not None  # noqa: S101 - checked above
                result = svc.revocations.revoke_consent(consent_id, actor=actor, reason=reason)
        except RevocationTargetNotFoundError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        except StoreUnavailableError:
            raise click.ClickException(
                "recorded in the database, but the store is unreachable: resource servers "
                "refuse every token until it is back, then re-read the database"
            ) from None
        emit(result.to_dict(), as_json, _describe)
