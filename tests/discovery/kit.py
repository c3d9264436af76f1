"""The kit ``test_advertised_values`` runs its flows with: one app, its scripted user and
fresh TPPs, all through the shared flow helpers (``tests.par``, ``tests.lifecycle``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from authserver.context import Services
from authserver.experience import experience
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import read_callback
from conformance.tpp import server_keys
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.flow_fixtures import FlaskTransport
from tests.lifecycle import client_credentials
from tests.par import Authorized
from tests.par import Pushed
from tests.par import push
from tests.par import redeem
from tests.par import register
from tppkit import TotpCodes

Body = dict[str, Any]


@dataclass
class Kit:
    """One app, its scripted user and the TPPs registered for one capability's values."""

    app: Flask
    client: FlaskClient
    browser: Browser
    transport: FlaskTransport
    svc: Services
    make_resource_server: Any
    metadata: Body
    request: pytest.FixtureRequest
    _ids: Iterator[int] = field(default_factory=itertools.count)
    _id_token: tuple[dict[str, Any], dict[str, Any]] | None = None

    def tpp(self, alg: str = "ES256", **registration: Any) -> Tpp:
        """A TPP registered for every advertised scope (an unknown one fails here)."""
        scopes = list(self.metadata["scopes_supported"])
        return register(
            self.app, self.svc, f"tpp-{next(self._ids)}", scopes=scopes, alg=alg, **registration
        )

    def resource_server(self, **registration: Any) -> Tpp:
        rs: Tpp = self.make_resource_server(f"rs-{next(self._ids)}", **registration)
        return rs

    def finish(self, tpp: Tpp, pushed: Pushed) -> Authorized:
        """The user logs in and approves; the response in any mode, JARM verified."""
        # Created on first use: hashing a password is the costliest set-up step.
        self.request.getfixturevalue("user")
        raw = self.browser.authorize(tpp, pushed.request_uri, username=USERNAME, password=PASSWORD)
        keys = server_keys(self.transport, self.svc.settings.issuer)
        callback = read_callback(raw, keys, tpp)
        assert callback.params.get("state") == pushed.params["state"], callback.params
        return Authorized(pushed, raw, callback.params)

    def authorized(self, tpp: Tpp, **overrides: str | None) -> Authorized:
        return self.finish(tpp, push(self.client, self.svc, tpp, **overrides))

    def redeemed(self, tpp: Tpp, flow: Authorized) -> Body:
        response = redeem(self.client, self.svc, tpp, flow)
        assert response.status_code == 200, response.get_data(as_text=True)
        body: Body = response.get_json()
        assert body["access_token"]
        return body

    def code_flow(self, tpp: Tpp, **overrides: str | None) -> Body:
        return self.redeemed(tpp, self.authorized(tpp, **overrides))

    def client_credentials(self, tpp: Tpp, **kwargs: Any) -> Body:
        response = client_credentials(self.client, self.svc, tpp, "accounts:read", **kwargs)
        assert response.status_code == 200, response.get_data(as_text=True)
        body: Body = response.get_json()
        return body

    def sca_id_token(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of an ID token after a password + TOTP login (acr sca)."""
        with self.app.app_context():
            created = experience(self.app).users.create(
                "kit-sca-user", PASSWORD, actor="test", totp=True
            )
        assert created.totp_secret
        tpp = self.tpp()
        pushed = push(self.client, self.svc, tpp)
        # Its own cookie jar: the kit's scripted user stays the password-only one.
        issuer = self.svc.settings.issuer
        browser = Browser(FlaskTransport(self.app.test_client(), issuer), issuer)
        raw = browser.authorize(
            tpp,
            pushed.request_uri,
            username="kit-sca-user",
            password=PASSWORD,
            one_time_code=TotpCodes(created.totp_secret, self.svc.clock.time),
        )
        flow = Authorized(pushed, raw, read_callback(raw, self._keys(), tpp).params)
        body = self.redeemed(tpp, flow)
        token = jwt.decode(body["id_token"], self._keys(), algorithms=self._id_token_algs())
        return dict(token.header), dict(token.claims)

    def _keys(self) -> Any:
        return server_keys(self.transport, self.svc.settings.issuer)

    def _id_token_algs(self) -> list[str]:
        return list(self.metadata["id_token_signing_alg_values_supported"])

    def id_token(self, *, fresh: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a verified ID token from a code flow with ``openid``;
        one flow serves every claim unless ``fresh`` asks for a new client's token."""
        if self._id_token is None or fresh:
            body = self.code_flow(self.tpp())
            keys = server_keys(self.transport, self.svc.settings.issuer)
            algs = list(self.metadata["id_token_signing_alg_values_supported"])
            token = jwt.decode(body["id_token"], keys, algorithms=algs)
            self._id_token = dict(token.header), dict(token.claims)
        return self._id_token
