"""RFC 7662 introspection and RFC 9701 JWT introspection: the kit both test files share.

Tokens come from the real endpoints (code flow, client_credentials, DPoP); every
client assertion and DPoP proof is made at the server's frozen clock
(``tests.par.frozen_auth``) so a test may advance it past a token's ``exp``.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from conformance.tpp import Browser
from conformance.tpp import PrivateKey
from conformance.tpp import Tpp
from conformance.tpp import dpop_proof
from tests.par import authorize
from tests.par import frozen_auth
from tests.par import post_form
from tests.par import redeem

JWT_MEDIA_TYPE = "application/token-introspection+jwt"
INACTIVE = {"active": False}
CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "accounts:read"}


def introspect(
    client: FlaskClient,
    svc: Services,
    caller: Tpp,
    token: str,
    *,
    headers: dict[str, str] | None = None,
    **form: str,
) -> TestResponse:
    """POST /introspect as ``caller`` (private_key_jwt at the frozen clock)."""
    data = {"token": token, **form, **frozen_auth(caller, svc)}
    return client.post(
        "/introspect", data=data, headers=headers or {}, base_url=svc.settings.issuer
    )


def introspection(client: FlaskClient, svc: Services, caller: Tpp, token: str) -> dict[str, Any]:
    """The JSON answer of a successful introspection."""
    response = introspect(client, svc, caller, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body: dict[str, Any] = response.get_json()
    return body


def code_tokens(client: FlaskClient, browser: Browser, svc: Services, tpp: Tpp) -> dict[str, Any]:
    """The token response of a full code flow (scope openid accounts:read) for ``tpp``."""
    response = redeem(client, svc, tpp, authorize(client, browser, svc, tpp))
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def client_credentials_token(
    client: FlaskClient, svc: Services, tpp: Tpp, *, dpop_key: PrivateKey | None = None
) -> dict[str, Any]:
    """A client_credentials token response, DPoP-bound to ``dpop_key`` when given."""
    headers = {}
    if dpop_key is not None:
        url = svc.settings.issuer + "/token"
        headers["DPoP"] = dpop_proof(dpop_key, "POST", url, iat=int(svc.clock.time()))
    form = {**CLIENT_CREDENTIALS, **frozen_auth(tpp, svc)}
    response = client.post("/token", data=form, headers=headers, base_url=svc.settings.issuer)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def refresh(client: FlaskClient, svc: Services, tpp: Tpp, refresh_token: str) -> TestResponse:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_form(client, svc, "/token", {**form, **frozen_auth(tpp, svc)})


def revoke(client: FlaskClient, svc: Services, tpp: Tpp, token: str, hint: str) -> None:
    form = {"token": token, "token_type_hint": hint, **frozen_auth(tpp, svc)}
    response = post_form(client, svc, "/revoke", form)
    assert response.status_code == 200, response.get_data(as_text=True)
