"""acr/amr/auth_time from the login into the ID token and the refresh family; a demanded
acr the login cannot give ends in unmet_authentication_requirements (RFC 9470)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from sqlalchemy import select

from authserver.checks.acr import ACR_CA
from authserver.checks.acr import ACR_SCA
from authserver.context import Services
from authserver.db import db
from authserver.tokens.models import RefreshToken
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import read_callback
from conformance.tpp import server_keys
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.flow_fixtures import FlaskTransport
from tests.par import Authorized
from tests.par import push
from tests.par import redeem
from tests.sca.helpers import TotpUser
from tests.sca.helpers import create_totp_user
from tppkit import TotpCodes

UNMET = "unmet_authentication_requirements"


@pytest.fixture
def totp_user(app: Flask) -> TotpUser:
    return create_totp_user(app)


def _flow(
    client: FlaskClient,
    browser: Browser,
    svc: Services,
    tpp: Tpp,
    *,
    user: TotpUser | None = None,
    **overrides: str | None,
) -> dict[str, str]:
    """PAR, the user signs in (with the code when ``user`` has TOTP) and approves: the
    parameters that reached the client, a JARM response unpacked."""
    pushed = push(client, svc, tpp, **overrides)
    raw = browser.authorize(
        tpp,
        pushed.request_uri,
        username=user.username if user else USERNAME,
        password=user.password if user else PASSWORD,
        one_time_code=TotpCodes(user.secret, svc.clock.time) if user else None,
    )
    params = read_callback(raw, server_keys(browser.transport, svc.settings.issuer), tpp).params
    params["_verifier"] = pushed.verifier
    params["_state"] = pushed.params["state"]
    return params


def _id_token(client: FlaskClient, svc: Services, tpp: Tpp, params: dict[str, str]) -> Any:
    pushed = type("P", (), {"verifier": params["_verifier"]})()
    flow = Authorized(pushed, None, params)  # type: ignore[arg-type]
    response = redeem(client, svc, tpp, flow)
    assert response.status_code == 200, response.get_data(as_text=True)
    keys = server_keys(FlaskTransport(client, svc.settings.issuer), svc.settings.issuer)
    return jwt.decode(response.get_json()["id_token"], keys, algorithms=["PS256", "ES256"]).claims


def _claims_acr(**acr: Any) -> str:
    return json.dumps({"id_token": {"acr": acr}})


def test_a_totp_login_is_sca_in_the_id_token_and_the_refresh_family(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    totp_user: TotpUser,
) -> None:
    claims = _id_token(
        client, services_, tpp, _flow(client, browser, services_, tpp, user=totp_user)
    )
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["acr"] == ACR_SCA
    assert claims["auth_time"] == int(services_.clock.time())
    with app.app_context():
        family = db.session.scalar(
            select(RefreshToken).where(RefreshToken.user_id == totp_user.user_id)
        )
        assert family is not None
        assert (family.amr, family.acr) == (["pwd", "otp"], ACR_SCA)


def test_a_password_only_login_is_ca(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    claims = _id_token(client, services_, tpp, _flow(client, browser, services_, tpp))
    assert (claims["amr"], claims["acr"]) == (["pwd"], ACR_CA)


@pytest.mark.parametrize(
    "demand",
    [
        {"claims": _claims_acr(essential=True, value=ACR_SCA)},
        {"claims": _claims_acr(essential=True, values=[ACR_SCA])},
        {"acr_values": ACR_SCA},
    ],
)
def test_an_sca_demand_a_password_only_user_cannot_meet_is_unmet(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    demand: dict[str, str],
) -> None:
    params = _flow(
        client,
        browser,
        services_,
        tpp,
        claims=demand.get("claims"),
        acr_values=demand.get("acr_values"),
    )
    assert params["error"] == UNMET
    assert params["state"] == params["_state"]
    assert params["iss"] == services_.settings.issuer
    assert "code" not in params


def test_unmet_goes_through_jarm_too(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    params = _flow(client, browser, services_, tpp, response_mode="jwt", acr_values=ACR_SCA)
    assert params["error"] == UNMET


def test_a_voluntary_acr_request_is_answered_with_what_the_login_gave(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    params = _flow(client, browser, services_, tpp, claims=_claims_acr(values=[ACR_SCA]))
    assert _id_token(client, services_, tpp, params)["acr"] == ACR_CA


def test_an_sca_demand_is_met_by_a_totp_login(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    totp_user: TotpUser,
) -> None:
    demand = _claims_acr(essential=True, value=ACR_SCA)
    params = _flow(client, browser, services_, tpp, user=totp_user, claims=demand)
    assert _id_token(client, services_, tpp, params)["acr"] == ACR_SCA


def test_a_malformed_acr_demand_is_refused_at_par(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    from tests.helpers import assert_oauth_error
    from tests.par import par

    params, _ = tpp.authorization_params(claims=_claims_acr(essential=True, value=[1]))
    assert_oauth_error(par(client, services_, tpp, params), 400, "invalid_request")
