"""Client registration rules, in one place for the CLI, the admin pages and later DCR."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from authserver.audit.service import AuditTrail
from authserver.clients.cache import ClientChanges
from authserver.clients.models import RATE_LIMIT_TIERS
from authserver.clients.models import Client
from authserver.clients.redirect_uri import redirect_uri_problem
from authserver.clock import Clock
from authserver.db import db
from authserver.fapi import CLIENT_AUTH_METHODS
from authserver.fapi import DEFAULT_RESPONSE_SIGNING_ALG
from authserver.fapi import GRANT_TYPES
from authserver.fapi import RESPONSE_SIGNING_ALGS
from authserver.scopes import unknown_scopes

# Registration accepts what the profile allows; fapi.py is the one source of each list.
SUPPORTED_AUTH_METHODS = CLIENT_AUTH_METHODS
JARM_ALGS = RESPONSE_SIGNING_ALGS
INTROSPECTION_ALGS = RESPONSE_SIGNING_ALGS
ACCESS_TOKEN_TTL_RANGE = (60, 3600)
DEFAULT_GRANT_TYPES = list(GRANT_TYPES)
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class ClientRegistrationError(ValueError):
    """Client metadata breaks a registration rule; the message says which and why."""


@dataclass
class ClientRequest:
    client_name: str
    redirect_uris: list[str]
    scopes: list[str]
    token_endpoint_auth_method: str = CLIENT_AUTH_METHODS[0]
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    client_id: str | None = None
    grant_types: list[str] = field(default_factory=lambda: list(DEFAULT_GRANT_TYPES))
    require_signed_request_object: bool = False
    authorization_signed_response_alg: str = DEFAULT_RESPONSE_SIGNING_ALG
    access_token_ttl: int | None = None
    dpop_bound_access_tokens: bool = False
    resource_server: bool = False
    """May introspect access tokens for its audience; gets no grants of its own."""
    introspection_signed_response_alg: str | None = None
    rate_limit_tier: str = RATE_LIMIT_TIERS[0]
    """starter, growth or enterprise: the client's requests-per-minute budget."""


def validate_public_jwks(jwks: Any) -> dict[str, Any]:
    """A client's JWKS must parse, hold only public keys, and give each key a unique kid."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise ClientRegistrationError("jwks must be an object with a non-empty 'keys' array")
    kids: set[str] = set()
    for item in jwks["keys"]:
        if not isinstance(item, dict):
            raise ClientRegistrationError("every jwks entry must be an object")
        if _PRIVATE_MEMBERS & item.keys():
            raise ClientRegistrationError("jwks must contain public keys only")
        kid = item.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise ClientRegistrationError("every jwks key needs a unique 'kid'")
        kids.add(kid)
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientRegistrationError("jwks is not a valid JWK Set") from exc
    return jwks


def _validate(request: ClientRequest) -> None:
    if not request.client_name.strip():
        raise ClientRegistrationError("client_name must not be empty")
    if request.token_endpoint_auth_method not in SUPPORTED_AUTH_METHODS:
        raise ClientRegistrationError(
            "token_endpoint_auth_method must be one of: " + ", ".join(SUPPORTED_AUTH_METHODS)
        )
    if "authorization_code" in request.grant_types and not request.redirect_uris:
        raise ClientRegistrationError("at least one redirect_uri is required")
    if request.resource_server and (request.grant_types or request.redirect_uris):
        raise ClientRegistrationError(
            "a resource server has no grant types and no redirect_uris (it only introspects)"
        )
    if request.rate_limit_tier not in RATE_LIMIT_TIERS:
        raise ClientRegistrationError(
            "rate_limit_tier must be one of: " + ", ".join(RATE_LIMIT_TIERS)
        )
    alg = request.introspection_signed_response_alg
    if alg is not None and alg not in INTROSPECTION_ALGS:
        raise ClientRegistrationError(
            "introspection_signed_response_alg must be one of: " + ", ".join(INTROSPECTION_ALGS)
        )
    for uri in request.redirect_uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise ClientRegistrationError(f"redirect_uri {uri!r} {problem}")
    unknown = unknown_scopes(request.scopes)
    if unknown:
        raise ClientRegistrationError("unknown scope: " + " ".join(unknown))
    if (request.jwks is None) == (request.jwks_uri is None):
        raise ClientRegistrationError("exactly one of jwks or jwks_uri is required")
    if request.jwks is not None:
        validate_public_jwks(request.jwks)
    if request.authorization_signed_response_alg not in JARM_ALGS:
        raise ClientRegistrationError(
            "authorization_signed_response_alg must be one of: " + ", ".join(JARM_ALGS)
        )
    low, high = ACCESS_TOKEN_TTL_RANGE
    if request.access_token_ttl is not None and not low <= request.access_token_ttl <= high:
        raise ClientRegistrationError(f"access_token_ttl must be {low} to {high} seconds")
    if request.jwks_uri is not None and urlsplit(request.jwks_uri).scheme not in ("https", "http"):
        raise ClientRegistrationError("jwks_uri must be an http(s) URL")


class ClientService:
    def __init__(
        self, clock: Clock, audit: AuditTrail, changes: ClientChanges | None = None
    ) -> None:
        """``changes`` announces a changed registration to every process's client cache."""
        self._clock = clock
        self._audit = audit
        self._changes = changes

    def create(self, request: ClientRequest, *, actor: str) -> Client:
        _validate(request)
        client_id = request.client_id or "tpp-" + secrets.token_urlsafe(12)
        if self.get(client_id) is not None:
            raise ClientRegistrationError(f"client_id {client_id!r} already exists")
        client = Client(
            client_id=client_id,
            client_name=request.client_name.strip(),
            redirect_uris=list(request.redirect_uris),
            scopes=list(dict.fromkeys(request.scopes)),
            grant_types=list(request.grant_types),
            token_endpoint_auth_method=request.token_endpoint_auth_method,
            jwks=request.jwks,
            jwks_uri=request.jwks_uri,
            require_signed_request_object=request.require_signed_request_object,
            authorization_signed_response_alg=request.authorization_signed_response_alg,
            access_token_ttl=request.access_token_ttl,
            dpop_bound_access_tokens=request.dpop_bound_access_tokens,
            resource_server=request.resource_server,
            introspection_signed_response_alg=request.introspection_signed_response_alg,
            rate_limit_tier=request.rate_limit_tier,
            disabled=False,
            created_at=self._clock.now(),
        )
        db.session.add(client)
        db.session.flush()
        self._audit.record(
            "client.created",
            actor=actor,
            resource=f"client:{client_id}",
            changes={"redirect_uris": client.redirect_uris, "scopes": client.scopes},
        )
        return client

    def get(self, client_id: str) -> Client | None:
        return db.session.scalar(select(Client).where(Client.client_id == client_id))

    def list(self) -> list[Client]:
        return list(db.session.scalars(select(Client).order_by(Client.created_at)))

    def disable(self, client_id: str, *, actor: str) -> Client:
        client = self.get(client_id)
        if client is None:
            raise ClientRegistrationError(f"no client {client_id!r}")
        client.disabled = True
        db.session.flush()
        self._audit.record(
            "client.disabled",
            actor=actor,
            resource=f"client:{client_id}",
            changes={"disabled": True},
        )
        # After the commit (record commits): a cache refilled now reads the new row.
        if self._changes is not None:
            self._changes.announce(client_id)
        return client


def client_to_dict(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": client.redirect_uris,
        "scope": " ".join(client.scopes),
        "grant_types": client.grant_types,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "jwks": client.jwks,
        "jwks_uri": client.jwks_uri,
        "require_signed_request_object": client.require_signed_request_object,
        "authorization_signed_response_alg": client.authorization_signed_response_alg,
        "access_token_ttl": client.access_token_ttl,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "resource_server": client.resource_server,
        "introspection_signed_response_alg": client.introspection_signed_response_alg,
        "rate_limit_tier": client.rate_limit_tier,
        "disabled": client.disabled,
        "created_at": client.created_at.isoformat(),
    }
