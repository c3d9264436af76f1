"""``authserver clients``: register and manage TPP clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from authserver.cli.common import app_services
from authserver.cli.common import emit
from authserver.cli.common import json_option
from authserver.cli.common import operator
from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientRequest
from authserver.clients.service import client_to_dict
from authserver.db import db
from authserver.tokens.revocation import RevocationTargetNotFoundError


@click.group()
def clients() -> None:
    """Registered TPP clients."""


def _describe(data: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in data.items() if key != "jwks")


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise click.BadParameter(
            f"cannot read a JSON JWK Set: {exc}", param_hint="--jwks-file"
        ) from None
    if not isinstance(loaded, dict):
        raise click.BadParameter("must hold a JSON object", param_hint="--jwks-file")
    return loaded


@clients.command("create")
@click.option("--name", "client_name", required=True, help="Name shown on consent screens.")
@click.option("--client-id", default=None, help="Defaults to a random tpp-… identifier.")
@click.option(
    "--redirect-uri", "redirect_uris", multiple=True, help="Repeatable; not for resource servers."
)
@click.option("--scope", "scopes", multiple=True, help="Repeatable or space-separated.")
@click.option("--jwks-file", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--jwks-uri", default=None)
@click.option("--auth-method", default="private_key_jwt", show_default=True)
@click.option("--require-signed-requests", is_flag=True, help="Refuse unsigned PAR requests.")
@click.option("--jarm-alg", default="PS256", show_default=True, help="JARM signing alg.")
@click.option("--access-token-ttl", type=int, default=None, help="Seconds, 60 to 3600.")
@click.option(
    "--dpop-bound-access-tokens",
    is_flag=True,
    help="Refuse token requests without a DPoP proof (RFC 9449 §5.2).",
)
@click.option(
    "--resource-server",
    is_flag=True,
    help="A resource server: may introspect access tokens, has no grants or redirect URIs.",
)
@click.option(
    "--introspection-alg",
    default=None,
    help="Always answer introspection with a JWT signed so (RFC 9701): PS256 or ES256.",
)
@json_option
def create(
    client_name: str,
    client_id: str | None,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    jwks_file: Path | None,
    jwks_uri: str | None,
    auth_method: str,
    require_signed_requests: bool,
    jarm_alg: str,
    access_token_ttl: int | None,
    dpop_bound_access_tokens: bool,
    resource_server: bool,
    introspection_alg: str | None,
    as_json: bool,
) -> None:
    """Register a client (private_key_jwt with its public keys)."""
    request = ClientRequest(
        client_name=client_name,
        client_id=client_id,
        redirect_uris=list(redirect_uris),
        scopes=[part for scope in scopes for part in scope.split()],
        token_endpoint_auth_method=auth_method,
        jwks=_read_jwks(jwks_file) if jwks_file else None,
        jwks_uri=jwks_uri,
        require_signed_request_object=require_signed_requests,
        authorization_signed_response_alg=jarm_alg,
        access_token_ttl=access_token_ttl,
        dpop_bound_access_tokens=dpop_bound_access_tokens,
        resource_server=resource_server,
        introspection_signed_response_alg=introspection_alg,
    )
    if resource_server:
        request.grant_types = []
    with app_services() as svc:
        try:
            client = svc.clients.create(request, actor=operator())
        except ClientRegistrationError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        data = client_to_dict(client)
    emit(data, as_json, _describe)


@clients.command("list")
@json_option
def list_clients(as_json: bool) -> None:
    """List registered clients."""
    with app_services() as svc:
        rows = [client_to_dict(client) for client in svc.clients.list()]
    emit(
        rows,
        as_json,
        lambda r: (
            "\n".join(
                f"{c['client_id']:30} {'disabled' if c['disabled'] else 'active':8} "
                f"{c['client_name']}"
                for c in r
            )
            or "no clients"
        ),
    )


@clients.command("show")
@click.argument("client_id")
@json_option
def show(client_id: str, as_json: bool) -> None:
    """Show one client's registration."""
    with app_services() as svc:
        client = svc.clients.get(client_id)
        if client is None:
            raise click.ClickException(f"no client {client_id!r}")
        data = client_to_dict(client)
    emit(data, as_json, _describe)


@clients.command("disable")
@click.argument("client_id")
@json_option
def disable(client_id: str, as_json: bool) -> None:
    """Disable a client: it can no longer authenticate, and every token it holds dies
    (the same path as `authserver revoke --client`)."""
    with app_services() as svc:
        try:
            svc.revocations.revoke_client(client_id, actor=operator(), reason="client disabled")
        except RevocationTargetNotFoundError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        client = svc.clients.get(client_id)
        assert client is not None  # noqa: S101 - just disabled
        data = client_to_dict(client)
    emit(data, as_json, lambda d: f"client {d['client_id']} disabled")
