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
from authserver.clients.models import RATE_LIMIT_TIERS
from authserver.clients.service import ClientRegistrationError
from authserver.clients.service import ClientRequest
from authserver.clients.service import client_to_dict
from authserver.db import db
from authserver.fapi import CLIENT_AUTH_METHODS
from authserver.fapi import DEFAULT_RESPONSE_SIGNING_ALG
from authserver.scopes import ADMIN_SCOPES
from authserver.tokens.revocation import RevocationTargetNotFoundError


@click.group()
def clients() -> None:
    """Registered TPP clients."""


def _text(value: Any) -> str:
    """A value as an operator reads it: no Python reprs (``['a']``, ``None``, ``False``)."""
    if value is None or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _describe(data: dict[str, Any]) -> str:
    shown = {key: value for key, value in data.items() if key != "jwks"}
    width = max((len(key) for key in shown), default=0)
    return "\n".join(f"{key + ':':{width + 1}} {_text(value)}" for key, value in shown.items())


def _list_row(client: dict[str, Any]) -> str:
    state = "disabled" if client["disabled"] else "active"
    kind = (
        "resource server"
        if client.get("resource_server")
        else ("operator" if client.get("grant_types") == ["client_credentials"] else "tpp")
    )
    return f"{client['client_id']:30} {state:8} {kind:15} {client['client_name']}"


def _read_jwks(path: Path) -> dict[str, Any]:
    """The JWK Set in PATH; a file that is missing or not JSON is one line, not a usage dump."""
    try:
        loaded = json.loads(path.read_text())
    except OSError as exc:
        raise click.ClickException(f"--jwks-file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--jwks-file {path}: not JSON ({exc.msg})") from None
    if not isinstance(loaded, dict):
        raise click.ClickException(f"--jwks-file {path}: must hold a JSON object")
    return loaded


def _refuse_http_in_production(env: str, redirect_uris: list[str]) -> None:
    """Loopback http callbacks (the example TPP's) are for development; production is https."""
    plain = [uri for uri in redirect_uris if not uri.startswith("https://")]
    if env == "production" and plain:
        raise click.ClickException(f"redirect_uri {plain[0]!r} must use https in production")


@clients.command("create")
@click.option("--name", "client_name", required=True, help="Name shown on consent screens.")
@click.option("--client-id", default=None, help="Defaults to a random tpp-… identifier.")
@click.option(
    "--redirect-uri", "redirect_uris", multiple=True, help="Repeatable; not for resource servers."
)
@click.option("--scope", "scopes", multiple=True, help="Repeatable or space-separated.")
@click.option("--jwks-file", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.option("--jwks-uri", default=None)
@click.option("--auth-method", default=CLIENT_AUTH_METHODS[0], show_default=True)
@click.option("--require-signed-requests", is_flag=True, help="Refuse unsigned PAR requests.")
@click.option(
    "--jarm-alg", default=DEFAULT_RESPONSE_SIGNING_ALG, show_default=True, help="JARM signing alg."
)
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
    "--operator",
    "operator_client",
    is_flag=True,
    help="An operator client: client_credentials only, the operator scopes "
    "(authserver:revoke) unless --scope says otherwise, no redirect URIs.",
)
@click.option(
    "--introspection-alg",
    default=None,
    help="Always answer introspection with a JWT signed so (RFC 9701): PS256 or ES256.",
)
@click.option(
    "--rate-limit-tier",
    type=click.Choice(RATE_LIMIT_TIERS),
    default=RATE_LIMIT_TIERS[0],
    show_default=True,
    help="Requests-per-minute budget of the client (AUTHSERVER_RATELIMIT__<TIER>).",
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
    operator_client: bool,
    introspection_alg: str | None,
    rate_limit_tier: str,
    as_json: bool,
) -> None:
    """Register a client (private_key_jwt with its public keys)."""
    if operator_client and (resource_server or redirect_uris):
        raise click.UsageError("--operator takes neither --resource-server nor --redirect-uri")
    if operator_client and not scopes:
        scopes = tuple(ADMIN_SCOPES)
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
        rate_limit_tier=rate_limit_tier,
    )
    if resource_server:
        request.grant_types = []
    if operator_client:
        # No user grants: an operator token is never tied to an end user's consent.
        request.grant_types = ["client_credentials"]
    with app_services() as svc:
        _refuse_http_in_production(svc.settings.env, request.redirect_uris)
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
    emit(rows, as_json, lambda r: "\n".join(_list_row(c) for c in r) or "no clients")


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
