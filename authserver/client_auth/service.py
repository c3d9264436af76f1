"""private_key_jwt verification (RFC 7523 §3, OIDC Core §9, FAPI 2.0 SP 5.3.2.1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import structlog
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from authserver.checks.identifiers import is_identifier
from authserver.checks.jwt_claims import audience_is_issuer_string
from authserver.checks.jwt_claims import time_problem
from authserver.client_auth.errors import InvalidClientError
from authserver.client_auth.jwks import ClientKeyResolver
from authserver.clients.cache import ClientCache
from authserver.clients.models import Client
from authserver.clients.models import is_usable
from authserver.clock import Clock
from authserver.crypto.jose import FapiJWSRegistry
from authserver.fapi import FapiPolicy
from authserver.store.replay import ReplayEpoch

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHOD = "private_key_jwt"

log = structlog.get_logger(__name__)


class _RejectedError(Exception):
    """Internal: why an assertion is refused (logged, never sent)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _parse(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified (the signature is checked later with the client's keys)."""
    try:
        token = extract_compact(assertion.encode("ascii"))
        claims = json.loads(token.payload)
    except (JoseError, ValueError, RecursionError) as exc:  # Recursion: absurdly nested
        raise _RejectedError(f"assertion is not a compact JWS with JSON claims: {exc}") from None
    if not isinstance(claims, dict):
        raise _RejectedError("assertion claims are not a JSON object")
    return dict(token.headers()), claims


class ClientAuthenticator:
    def __init__(
        self,
        clients: ClientCache,
        resolver: ClientKeyResolver,
        policy: FapiPolicy,
        issuer: str,
        clock: Clock,
        replay_epoch: ReplayEpoch,
    ) -> None:
        self._clients = clients
        self._resolver = resolver
        self._policy = policy
        self._issuer = issuer
        self._clock = clock
        self._epoch = replay_epoch
        self._registry = FapiJWSRegistry(policy.signing_algs)

    def authenticate(self, form: Mapping[str, str]) -> Client:
        """The authenticated client, or InvalidClientError (401) with a fixed description."""
        claimed = form.get("client_id")
        try:
            assertion = self._assertion(form)
            header, claims = _parse(assertion)
            if isinstance(claims.get("iss"), str):
                claimed = claims["iss"]
            self._check_header(header)
            self._check_claims(claims)
            client = self._client(claims["iss"], form)
            self._verify_signature(assertion, client, header)
            self._consume_jti(client, claims)
        except _RejectedError as rejected:
            log.info(
                "client_authentication_failed",
                client_id=claimed[:100] if isinstance(claimed, str) else None,
                error_detail=rejected.detail,
            )
            raise InvalidClientError() from None
        return client

    @staticmethod
    def _assertion(form: Mapping[str, str]) -> str:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise _RejectedError("client_assertion_type is missing or not jwt-bearer")
        assertion = form.get("client_assertion")
        if not isinstance(assertion, str) or not assertion:
            raise _RejectedError("client_assertion is missing")
        return assertion

    def _check_header(self, header: Mapping[str, Any]) -> None:
        alg = header.get("alg")
        if alg not in self._policy.signing_algs:
            raise _RejectedError(f"alg {alg!r} is not allowed")
        if "kid" in header and not isinstance(header["kid"], str):
            raise _RejectedError("kid is not a string")

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        """RFC 7523 §3 and FAPI 2.0: iss = sub, aud the issuer string, time, jti."""
        iss, sub = claims.get("iss"), claims.get("sub")
        if not isinstance(iss, str) or not iss:
            raise _RejectedError("iss is missing")
        if sub is None:
            raise _RejectedError("sub is missing")
        if sub != iss:
            raise _RejectedError("sub differs from iss")
        if not audience_is_issuer_string(claims.get("aud"), self._issuer):
            raise _RejectedError("aud is not the issuer identifier as a string")
        problem = time_problem(
            claims,
            self._clock.time(),
            skew=self._policy.clock_skew,
            required=("exp",),
            max_lifetime=self._policy.assertion_max_lifetime,
        )
        if problem:
            raise _RejectedError(problem)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _RejectedError("jti is missing or not a string")

    def _client(self, client_id: str, form: Mapping[str, str]) -> Client:
        if "client_id" in form and form["client_id"] != client_id:
            raise _RejectedError("client_id parameter differs from the assertion's iss")
        # The signature is checked after the lookup, so iss is still the caller's raw text.
        if not is_identifier(client_id):
            raise _RejectedError("iss is not a valid client identifier")
        client = self._clients.get(client_id)
        if not is_usable(client):
            raise _RejectedError("unknown client" if client is None else "client is disabled")
        if client.token_endpoint_auth_method != AUTH_METHOD:
            raise _RejectedError("client is not registered for private_key_jwt")
        return client

    def _verify_signature(self, assertion: str, client: Client, header: Mapping[str, Any]) -> None:
        kid: str | None = header.get("kid")
        try:
            keys = self._resolver.key_set(client, kid)
        except InvalidClientError:
            raise _RejectedError("client keys are unavailable") from None
        for key in self._candidates(keys, kid):
            try:
                jwt.decode(
                    assertion,
                    key,
                    algorithms=list(self._policy.signing_algs),
                    registry=self._registry,
                )
            except (JoseError, ValueError):
                continue
            return
        raise _RejectedError("signature does not verify with the client's keys")

    @staticmethod
    def _candidates(keys: KeySet, kid: str | None) -> list[Key]:
        """The key named by ``kid``; without a kid, every key of the client."""
        if kid is None:
            return list(keys)
        candidates = [key for key in keys if key.kid == kid]
        if not candidates:
            raise _RejectedError(f"no client key with kid {kid[:64]!r}")
        return candidates

    def _consume_jti(self, client: Client, claims: Mapping[str, Any]) -> None:
        """OIDC Core §9: single use, remembered until exp + skew. Store errors propagate (503)."""
        now = self._clock.time()
        ttl = max(1.0, float(claims["exp"]) - now + self._policy.clock_skew)
        key = f"client_assertion:{client.client_id}:{claims['jti']}"
        # The epoch is read after the jti is spent, so a store loss in between cannot
        # slip through (F5).
        refused = self._epoch.spend(key, ttl, self._issued_no_earlier_than(claims))
        if refused == "replayed":
            raise _RejectedError("jti was already used (replay)")
        if refused is not None:
            raise _RejectedError("issued before the store's replay state began")

    def _issued_no_earlier_than(self, claims: Mapping[str, Any]) -> float:
        """iat; without one, the earliest issue time its accepted lifetime allows."""
        if "iat" in claims:
            return float(claims["iat"])
        return float(claims["exp"]) - self._policy.assertion_max_lifetime
