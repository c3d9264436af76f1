"""RFC 9701 JWT introspection answers, checked the way a strict independent RS would.

Verification uses PyJWT (not joserfc, which the server signs with): the key comes from
the published /jwks by the JWS ``kid``; ``typ``, ``alg``, ``iss``, ``aud`` and ``iat`` are
required (checklist I3, panva/oauth4webapi's checks), and the ``token_introspection``
claim must say exactly what the JSON endpoint says about the same token.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.context import Services
from tests.helpers import assert_oauth_error
from tests.introspection import INACTIVE
from tests.introspection import JWT_MEDIA_TYPE
from tests.lifecycle import code_flow_tokens
from tests.lifecycle import introspect
from tests.lifecycle import introspection
from tppkit import Browser
from tppkit import Tpp

ASK_FOR_JWT = {"Accept": JWT_MEDIA_TYPE}


@pytest.fixture
def access_token(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> str:
    token: str = code_flow_tokens(client, browser, services_, tpp)["access_token"]
    return token


def verify(
    client: FlaskClient, svc: Services, response: TestResponse, caller: Tpp, alg: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT introspection answer, after every check an RS makes."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == JWT_MEDIA_TYPE
    token = response.get_data(as_text=True)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "token-introspection+jwt"  # RFC 9701 §5: REQUIRED
    assert header["alg"] == alg
    published = client.get("/jwks", base_url=svc.settings.issuer).get_json()
    matching = [key for key in published["keys"] if key.get("kid") == header["kid"]]
    assert len(matching) == 1, header
    assert matching[0].get("alg", alg) == alg
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK.from_dict(matching[0], algorithm=alg),
        algorithms=[alg],
        issuer=svc.settings.issuer,
        audience=caller.client_id,
        options={"require": ["iss", "aud", "iat"]},
    )
    return header, claims


def test_accept_header_gets_a_ps256_jwt_for_the_caller(
    client: FlaskClient, services_: Services, rs: Tpp, access_token: str
) -> None:
    response = introspect(client, services_, rs, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, rs, "PS256")
    assert claims["iss"] == services_.settings.issuer
    assert claims["aud"] == rs.client_id


def test_jwt_iat_is_the_server_time(
    client: FlaskClient, services_: Services, rs: Tpp, access_token: str
) -> None:
    response = introspect(client, services_, rs, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, rs, "PS256")
    assert claims["iat"] == int(services_.clock.time())
    assert abs(claims["iat"] - time.time()) < 60


def test_jwt_has_no_top_level_sub_or_exp(
    client: FlaskClient, services_: Services, rs: Tpp, access_token: str
) -> None:
    """RFC 9701 §5: so the answer can never pass for an access token."""
    response = introspect(client, services_, rs, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, rs, "PS256")
    assert "sub" not in claims
    assert "exp" not in claims


def test_token_introspection_claim_equals_the_json_answer(
    client: FlaskClient, services_: Services, rs: Tpp, access_token: str
) -> None:
    as_json = introspection(client, services_, rs, access_token)
    response = introspect(client, services_, rs, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, rs, "PS256")
    assert as_json["active"] is True
    assert claims["token_introspection"] == as_json


def test_inactive_token_is_a_signed_active_false(
    client: FlaskClient, services_: Services, rs: Tpp
) -> None:
    response = introspect(client, services_, rs, "no-such-token", headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, rs, "PS256")
    assert claims["token_introspection"] == INACTIVE


def test_another_clients_token_is_a_signed_active_false(
    client: FlaskClient, services_: Services, make_tpp: Any, access_token: str
) -> None:
    other = make_tpp("tpp-other")

    response = introspect(client, services_, other, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, other, "PS256")
    assert claims["token_introspection"] == INACTIVE


def test_issuing_client_gets_a_jwt_addressed_to_itself(
    client: FlaskClient, services_: Services, tpp: Tpp, access_token: str
) -> None:
    response = introspect(client, services_, tpp, access_token, headers=ASK_FOR_JWT)

    _, claims = verify(client, services_, response, tpp, "PS256")
    assert claims["token_introspection"]["active"] is True


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", f"{JWT_MEDIA_TYPE};q=0, application/json"],
    ids=["none", "any", "json", "jwt-refused"],
)
def test_without_an_explicit_ask_the_answer_is_json(
    client: FlaskClient, services_: Services, rs: Tpp, access_token: str, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept is not None else None

    response = introspect(client, services_, rs, access_token, headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.get_json()["active"] is True


@pytest.mark.parametrize("alg", ["PS256", "ES256"])
@pytest.mark.parametrize("accept", [None, "*/*", "application/json"], ids=["none", "any", "json"])
def test_client_registered_for_jwt_always_gets_it_signed_with_its_alg(
    client: FlaskClient,
    services_: Services,
    make_resource_server: Any,
    access_token: str,
    alg: str,
    accept: str | None,
) -> None:
    rs = make_resource_server("rs-signed", introspection_signed_response_alg=alg)
    headers = {"Accept": accept} if accept is not None else None
    as_json = introspection(client, services_, make_resource_server("rs-plain"), access_token)

    response = introspect(client, services_, rs, access_token, headers=headers)

    _, claims = verify(client, services_, response, rs, alg)
    assert claims["token_introspection"] == as_json


def test_errors_stay_json_when_a_jwt_is_asked_for(
    client: FlaskClient, services_: Services, rs: Tpp
) -> None:
    form = {"token": "x", "client_id": rs.client_id}
    response = client.post(
        "/introspect", data=form, headers=ASK_FOR_JWT, base_url=services_.settings.issuer
    )

    assert_oauth_error(response, 401, "invalid_client")


def test_missing_token_is_json_invalid_request_when_a_jwt_is_asked_for(
    client: FlaskClient, services_: Services, rs: Tpp
) -> None:
    response = introspect(client, services_, rs, "", headers=ASK_FOR_JWT)

    assert_oauth_error(response, 400, "invalid_request")
