"""Registering TPPs and resource servers: in-process through the app's client service (tests,
in-process benchmarks) or through the real ``authserver clients create`` command (live
servers). Both return what the client side needs next: a ``Tpp`` identity or its key.

TEST-ONLY keys: every key registered here is generated for the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from joserfc import jwk

from authserver.clients.models import Client
from authserver.clients.service import ClientRequest
from authserver.context import Services
from authserver.context import services
from tppkit.client import Tpp
from tppkit.keys import PrivateKey
from tppkit.keys import generate_key
from tppkit.keys import public_jwks
from tppkit.keys import write_key_files
from tppkit.local_server import cli

REDIRECT_URI = "https://tpp.example.test/cb"
TPP_SCOPES = ("openid", "accounts:read", "payments:write")


def create_client(
    svc: Services,
    client_id: str,
    key: PrivateKey | jwk.Key | None = None,
    *,
    label: str = "test",
    actor: str = "test",
    **fields: Any,
) -> Client:
    """Create ``client_id`` through the client service (inside an app context), registering
    ``key``'s public half as its JWKS when given; ``fields`` are further ``ClientRequest``
    fields (``redirect_uris``, ``scopes``, ``jwks_uri``, ``dpop_bound_access_tokens``, ...)."""
    if key is not None:
        fields = {"jwks": public_jwks(key), **fields}
    request = ClientRequest(client_name=f"{client_id} ({label})", client_id=client_id, **fields)
    return svc.clients.create(request, actor=actor)


def register_tpp(
    app: Flask,
    client_id: str = "tpp-one",
    alg: str = "ES256",
    *,
    key: PrivateKey | None = None,
    redirect_uri: str = REDIRECT_URI,
    scopes: list[str] | tuple[str, ...] = TPP_SCOPES,
    label: str = "test",
    actor: str = "test",
    **registration: Any,
) -> Tpp:
    """Register ``client_id`` (a fresh ``alg`` key unless ``key``); its Tpp identity.

    ``registration`` passes further ``ClientRequest`` fields (``redirect_uris``,
    ``dpop_bound_access_tokens``, ``access_token_ttl``, ...).
    """
    key = key or generate_key(alg)
    values: dict[str, Any] = {"redirect_uris": [redirect_uri], "scopes": list(scopes)}
    values.update(registration)
    svc = services(app)
    with app.app_context():
        create_client(svc, client_id, key, label=label, actor=actor, **values)
    return Tpp(client_id, key, alg, svc.settings.issuer, redirect_uri)


def register_resource_server(
    app: Flask, client_id: str = "rs-one", alg: str = "ES256", **registration: Any
) -> Tpp:
    """Register a resource-server client (it only introspects); its Tpp identity, whose
    assertions authenticate it at ``/introspect``."""
    values: dict[str, Any] = {"redirect_uris": [], "scopes": [], "grant_types": []}
    values.update(registration)
    return register_tpp(
        app, client_id, alg, label="test resource server", resource_server=True, **values
    )


def cli_register(
    env: dict[str, str],
    directory: Path,
    client_id: str,
    alg: str = "ES256",
    *flags: str,
    redirect_uri: str | None = None,
    scope: str | None = None,
    name: str | None = None,
) -> tuple[PrivateKey, Path]:
    """Register ``client_id`` through ``authserver clients create`` with a fresh ``alg`` key
    written to ``directory``; returns the key and its private JWK file.

    A resource server passes ``--resource-server`` in ``flags`` and no redirect URI or scope.
    """
    key = generate_key(alg)
    private, public = write_key_files(directory, client_id, key)
    arguments = ["--name", name or f"{client_id} (test)", "--client-id", client_id]
    arguments += ["--jwks-file", str(public)]
    if redirect_uri is not None:
        arguments += ["--redirect-uri", redirect_uri]
    if scope is not None:
        arguments += ["--scope", scope]
    cli(env, "clients", "create", *arguments, *flags)
    return key, private
