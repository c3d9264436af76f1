"""private_key_jwt verification (RFC 7523 §3, OIDC Core §9, FAPI 2.0 SP 5.3.2.1)."""

from __future__ import annotations

from collections.abc import Mapping

from authserver.client_auth.jwks import ClientKeyResolver
from authserver.clients.models import Client
from authserver.clients.service import ClientService
from authserver.clock import Clock
from authserver.fapi import FapiPolicy
from authserver.store.base import Store

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class ClientAuthenticator:
    def __init__(
        self,
        clients: ClientService,
        resolver: ClientKeyResolver,
        store: Store,
        policy: FapiPolicy,
        issuer: str,
        clock: Clock,
    ) -> None:
        self._clients = clients
        self._resolver = resolver
        self._store = store
        self._policy = policy
        self._issuer = issuer
        self._clock = clock

    def authenticate(self, form: Mapping[str, str]) -> Client:
        """The authenticated client, or InvalidClientError (401) with a fixed description."""
        raise NotImplementedError
