"""PAR and JAR rules (RFC 9126, RFC 9101, FAPI 2.0 Message Signing), and the small
code-flow kit the authorization, JARM and token tests share.

The kit talks to the app through the Flask test client (so ``assert_oauth_error``
reads its responses) and the ``conformance.tpp`` toolkit. The server reads a frozen
clock, so client assertions are built from that clock, never from ``time.time()``:
they stay valid when a test advances it to expire a code or a request_uri.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.test import TestResponse

from authserver.context import Services
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import REDIRECT_URI
from tests.flow_fixtures import USERNAME
from tppkit import Browser
from tppkit import HttpResponse
from tppkit import Tpp
from tppkit import csrf_token
from tppkit import jwt_header as jwt_header  # re-exported
from tppkit import query_params
from tppkit.registration import register_tpp

SERVER_ALGS = ["RS256", "PS256", "ES256"]


def frozen_auth(tpp: Tpp, svc: Services, **overrides: Any) -> dict[str, str]:
    """private_key_jwt form fields whose assertion is valid at the server's (frozen) clock."""
    now = int(svc.clock.time())
    claims: dict[str, Any] = {"iat": now, "exp": now + 60, **overrides}
    return tpp.auth_form(**claims)


def register(
    app: Flask,
    svc: Services,
    client_id: str,
    *,
    scopes: list[str],
    alg: str = "ES256",
    redirect_uri: str = REDIRECT_URI,
    **extra: Any,
) -> Tpp:
    """Like the ``make_tpp`` fixture, with the client's scopes (and redirect_uri) chosen."""
    return register_tpp(app, client_id, alg, scopes=scopes, redirect_uri=redirect_uri, **extra)


def post_form(client: FlaskClient, svc: Services, path: str, form: Any) -> TestResponse:
    return client.post(path, data=form, base_url=svc.settings.issuer)


def par(client: FlaskClient, svc: Services, tpp: Tpp, params: dict[str, str]) -> TestResponse:
    """POST /par with ``params`` and a valid client assertion."""
    return post_form(client, svc, "/par", {**params, **frozen_auth(tpp, svc)})


def par_signed(
    client: FlaskClient, svc: Services, tpp: Tpp, request_object: str, **outside: str
) -> TestResponse:
    """POST /par carrying a request object (and client_id plus ``outside`` next to it)."""
    form = {"client_id": tpp.client_id, "request": request_object, **outside}
    return par(client, svc, tpp, form)


def jar_times(svc: Services, **overrides: Any) -> dict[str, Any]:
    """nbf/exp of a request object relative to the server's clock (None removes one)."""
    now = int(svc.clock.time())
    return {"nbf": now, "exp": now + 300, **overrides}


@dataclass
class Pushed:
    params: dict[str, str]
    verifier: str
    request_uri: str


def push(client: FlaskClient, svc: Services, tpp: Tpp, **overrides: str | None) -> Pushed:
    """A successful plain PAR; ``overrides`` change authorization parameters (None drops)."""
    params, verifier = tpp.authorization_params(**overrides)
    response = par(client, svc, tpp, params)
    assert response.status_code == 201, response.get_data(as_text=True)
    return Pushed(params, verifier, response.get_json()["request_uri"])


def authorize_path(client_id: str, request_uri: str, **extra: str) -> str:
    query = urllib.parse.urlencode({"client_id": client_id, "request_uri": request_uri, **extra})
    return f"/authorize?{query}"


def server_keys(client: FlaskClient, svc: Services) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks", base_url=svc.settings.issuer).get_json())


def verify_jarm(client: FlaskClient, svc: Services, token: str) -> dict[str, Any]:
    """The JARM JWT's claims, verified with the one published key its ``kid`` names."""
    header = jwt_header(token)
    keys = [k for k in server_keys(client, svc) if k.kid == header["kid"]]
    assert len(keys) == 1, header
    verified = jwt.decode(token, keys[0], algorithms=SERVER_ALGS)
    return dict(verified.claims)


@dataclass
class Authorized:
    """What left the server towards the client after login and consent."""

    pushed: Pushed
    raw: HttpResponse
    params: dict[str, str]

    @property
    def code(self) -> str:
        return self.params["code"]


def authorize(
    client: FlaskClient,
    browser: Browser,
    svc: Services,
    tpp: Tpp,
    *,
    approve: bool = True,
    **overrides: str | None,
) -> Authorized:
    """PAR, then the scripted user logs in and decides; plain query responses only."""
    pushed = push(client, svc, tpp, **overrides)
    return finish(browser, tpp, pushed, approve=approve)


def finish(
    browser: Browser,
    tpp: Tpp,
    pushed: Pushed,
    *,
    approve: bool = True,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> Authorized:
    raw = browser.authorize(
        tpp, pushed.request_uri, username=username, password=password, approve=approve
    )
    assert raw.status == 303, raw.text
    assert raw.location.startswith(tpp.redirect_uri), raw.location
    return Authorized(pushed, raw, query_params(raw.location))


def redeem(
    client: FlaskClient, svc: Services, tpp: Tpp, flow: Authorized, **overrides: str | None
) -> TestResponse:
    """POST /token for the flow's code; ``overrides`` change fields (None drops one)."""
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": tpp.redirect_uri,
        "code_verifier": flow.pushed.verifier,
        **frozen_auth(tpp, svc),
    }
    form.update(overrides)
    return post_form(client, svc, "/token", {k: v for k, v in form.items() if v is not None})


def page(client: FlaskClient, svc: Services, path: str) -> TestResponse:
    """One browser GET, not followed."""
    return client.get(path, base_url=svc.settings.issuer)


def login(client: FlaskClient, svc: Services, password: str = PASSWORD) -> TestResponse:
    """Load /login and submit it with its CSRF token (the response is not followed)."""
    form = {
        "csrf_token": csrf_token(page(client, svc, "/login").get_data(as_text=True)),
        "username": USERNAME,
        "password": password,
        "submit": "Sign in",
    }
    return post_form(client, svc, "/login", form)


def decide(client: FlaskClient, svc: Services, *, approve: bool = True) -> TestResponse:
    """Load /consent and press Approve or Deny (the response is not followed)."""
    shown = page(client, svc, "/consent")
    assert shown.status_code == 200, shown.get_data(as_text=True)
    decision = {"approve": "Approve"} if approve else {"deny": "Deny"}
    token = csrf_token(shown.get_data(as_text=True))
    return post_form(client, svc, "/consent", {"csrf_token": token, **decision})
