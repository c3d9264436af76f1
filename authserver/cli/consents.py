"""``authserver consents expire``: move every authorised consent past its
ExpirationDateTime to EXPD and end its tokens (issue 11 part 7; safe from cron on
every node: each consent is moved, and its tokens revoked, by exactly one runner)."""

from __future__ import annotations

from typing import Any

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.experience import experience
from authserver.store import StoreUnavailableError


@click.group("consents")
def consents() -> None:
    """Open-banking consents."""


def _describe(data: dict[str, Any]) -> str:
    return f"expired {data['expired']} consent(s)"


@consents.command("expire")
@json_option
def expire(as_json: bool) -> None:
    """Move authorised consents past their expiry to EXPD and revoke their tokens."""
    with app_services() as svc:

        def revoke_tokens(consent_id: str) -> None:
            svc.revocations.revoke_consent_tokens(consent_id, actor="system", reason="expired")

        try:
            moved = experience().consents.expire_due(then=revoke_tokens)
        except StoreUnavailableError:
            raise click.ClickException(
                "recorded in the database, but the store is unreachable: resource servers "
                "refuse every token until it is back, then re-read the database"
            ) from None
        emit({"expired": len(moved), "consent_ids": moved}, as_json, _describe)
