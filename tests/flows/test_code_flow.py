"""The FAPI 2.0 authorization-code flow end to end through the real app."""

from __future__ import annotations

from typing import Any

from joserfc import jwt

from authserver.context import Services
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.flow_fixtures import FlaskTransport
from tppkit import Browser
from tppkit import Tpp
from tppkit import read_callback
from tppkit import server_keys


def run_flow(
    transport: FlaskTransport, browser: Browser, tpp: Tpp, **overrides: str | None
) -> dict[str, Any]:
    params, verifier = tpp.authorization_params(**overrides)
    pushed = transport.request("POST", tpp.url("/par"), form={**params, **tpp.auth_form()})
    assert pushed.status == 201, pushed.text
    response = browser.authorize(
        tpp, pushed.json()["request_uri"], username=USERNAME, password=PASSWORD
    )
    callback = read_callback(response, server_keys(transport, tpp.issuer), tpp)
    return {"params": params, "verifier": verifier, "callback": callback.params}


def test_happy_flow_issues_scoped_tokens(
    transport: FlaskTransport, browser: Browser, tpp: Tpp, user: str, services_: Services
) -> None:
    flow = run_flow(transport, browser, tpp)
    callback = flow["callback"]
    assert callback["iss"] == services_.settings.issuer
    assert callback["state"] == flow["params"]["state"]
    token = transport.request(
        "POST",
        tpp.url("/token"),
        form={
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": tpp.redirect_uri,
            "code_verifier": flow["verifier"],
            **tpp.auth_form(),
        },
    )
    assert token.status == 200, token.text
    assert token.headers["Cache-Control"] == "no-store"
    body = token.json()
    keys = server_keys(transport, tpp.issuer)
    access = jwt.decode(body["access_token"], keys, algorithms=["RS256"])
    assert access.header["typ"] == "at+jwt"
    assert access.claims["scope"] == "openid accounts:read"
    assert access.claims["sub"] == user
    id_token = jwt.decode(body["id_token"], keys, algorithms=["PS256"])
    assert id_token.claims["nonce"] == flow["params"]["nonce"]
    assert id_token.claims["aud"] == tpp.client_id
    info = transport.request(
        "GET", tpp.url("/userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status == 200
    assert info.json() == {"sub": user}
    refreshed = transport.request(
        "POST",
        tpp.url("/token"),
        form={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            **tpp.auth_form(),
        },
    )
    assert refreshed.status == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != body["refresh_token"]


def test_jarm_response_carries_only_response(
    transport: FlaskTransport, browser: Browser, tpp: Tpp, user: str, services_: Services
) -> None:
    flow = run_flow(transport, browser, tpp, response_mode="jwt")
    assert flow["callback"]["iss"] == services_.settings.issuer
    assert flow["callback"]["state"] == flow["params"]["state"]
    assert "code" in flow["callback"]
