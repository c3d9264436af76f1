"""Signing webhook events with the webhook key ring (JWS RS256, ``kid`` like
``webhook-key-2026-12``). Only the authorization server's app and the worker import this
module: it holds private keys, which resource servers never do."""

from __future__ import annotations

from authserver.events.models import WebhookEvent
from authserver.events.outbox import claims
from authserver.keys.service import KeyService
from authserver.keys.service import UnknownKeyError

ALG = "RS256"
TYP = "JWT"


class WebhookSigner:
    def __init__(self, keys: KeyService, issuer: str) -> None:
        self._keys = keys
        self._issuer = issuer

    def sign_event(self, event: WebhookEvent) -> str | None:
        try:
            return self._keys.sign(claims(event, self._issuer), ALG, typ=TYP)
        except UnknownKeyError:  # no webhook key yet (schema just migrated): the worker signs
            return None
