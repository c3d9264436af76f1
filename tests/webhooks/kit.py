"""A real loopback HTTP receiver for webhook events, the worker in-process, and the
checks a TPP makes on what it receives (the JWS against /v1/.well-known/jwks.json)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from authserver.events.signer import WebhookSigner
from authserver.events.ssrf import guard_from_settings
from authserver.events.worker import DeliveryWorker
from tests.lifecycle import client_credentials_token
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

WEBHOOK_JWKS = "/v1/.well-known/jwks.json"
ALL_TYPES = [
    "consent.authorised",
    "consent.rejected",
    "consent.revoked",
    "consent.expired",
    "payment.status_changed",
]


@dataclass
class Received:
    path: str
    content_type: str
    body: str


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200) and records it.
    ``hold``: while set, the first POST is recorded and then left waiting for ``release``."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: bool = False
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/events"

    def tokens(self) -> list[str]:
        with self.lock:
            return [item.body for item in self.received]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, self.headers.get("Content-Type", ""), body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                first_held = receiver.hold and len(receiver.received) == 1
            if first_held:
                receiver.arrived.set()
                receiver.release.wait(60)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None

    return Handler


@contextmanager
def running_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(**options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


def worker(svc: Services, **settings: Any) -> DeliveryWorker:
    """The worker as ``authserver webhooks worker`` builds it, minus the jitter (each
    delay is then its fixed half, so a test knows how far to move the clock)."""
    return DeliveryWorker(
        svc.settings.webhooks.model_copy(update=settings),
        svc.clock,
        guard_from_settings(svc.settings),
        WebhookSigner(svc.webhook_keys, svc.settings.issuer),
        jitter=lambda: 0.0,
    )


def run_worker(app: Flask, svc: Services) -> int:
    with app.app_context():
        return worker(svc).run_once()


@dataclass
class EventsCaller:
    """A TPP with a DPoP-bound client-credentials token calling /webhooks/*."""

    client: FlaskClient
    svc: Services
    tpp: Tpp
    token: str
    key: PrivateKey

    def _headers(self, method: str, path: str) -> dict[str, str]:
        url = self.svc.settings.issuer + path.split("?")[0]
        proof = dpop_proof(
            self.key, method, url, access_token=self.token, iat=int(self.svc.clock.time())
        )
        return {"Authorization": f"DPoP {self.token}", "DPoP": proof}

    def call(self, method: str, path: str, body: Any = None) -> TestResponse:
        return self.client.open(
            path,
            method=method,
            data=None if body is None else json.dumps(body),
            content_type="application/json" if body is not None else None,
            headers=self._headers(method, path),
            base_url=self.svc.settings.issuer,
        )

    def subscribe(self, url: str, types: list[str] | None = None) -> TestResponse:
        body = {"callback_url": url, "event_types": types or ALL_TYPES}
        return self.call("POST", "/webhooks/subscriptions", body)


def events_caller(
    client: FlaskClient, svc: Services, tpp: Tpp, scope: str = "accounts:read payments:write"
) -> EventsCaller:
    key = generate_key("ES256")
    token = client_credentials_token(client, svc, tpp, scope=scope, dpop_key=key)
    return EventsCaller(client, svc, tpp, token, key)


def verify(jwks: dict[str, Any], token: str, audience: str, issuer: str) -> dict[str, Any]:
    """What a TPP does: pick the key by ``kid`` from the webhook JWKS, verify RS256, the
    audience (itself) and the issuer. (``iat`` is the server's frozen clock.)"""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {key["kid"]: key for key in jwks["keys"]}
    assert kid in keys, f"{kid} is not published"
    public = jwt.PyJWK.from_dict(keys[kid])
    claims: dict[str, Any] = jwt.decode(
        token,
        public.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=issuer,
        options={"verify_iat": False, "require": ["iat", "iss", "aud"]},
    )
    return claims


def webhook_jwks(client: FlaskClient, svc: Services) -> dict[str, Any]:
    response = client.get(WEBHOOK_JWKS, base_url=svc.settings.issuer)
    assert response.status_code == 200
    jwks: dict[str, Any] = response.get_json()
    return jwks
