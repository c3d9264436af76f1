"""Every value the discovery document advertises works end to end.

The values come from the served document itself: each ``*_supported`` list (and each
``require_*`` flag) is read from ``/.well-known/openid-configuration`` and every value in
it is exercised against the app (Flask test client, real keys, real signatures). A
capability the document lists without an exerciser here fails naming it, and so does a
value an exerciser does not know: adding a value without support cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any
from typing import NoReturn

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt

from authserver.checks.acr import ACR_SCA
from authserver.context import Services
from conformance.tpp import Browser
from conformance.tpp import Tpp
from conformance.tpp import generate_key
from conformance.tpp import query_params
from conformance.tpp import server_keys
from tests.discovery.kit import Kit
from tests.flow_fixtures import FlaskTransport
from tests.helpers import assert_oauth_error
from tests.lifecycle import introspect
from tests.lifecycle import introspection
from tests.lifecycle import refresh
from tests.lifecycle import revoke
from tests.ob_consents import approved_payment_tokens
from tests.ob_consents import approved_tokens
from tests.ob_consents import as_param
from tests.ob_consents import create_consent
from tests.ob_consents import create_payment_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import payment_rar
from tests.ob_consents import rar
from tests.ob_consents import seed_accounts
from tests.par import Pushed
from tests.par import jar_times
from tests.par import jwt_header
from tests.par import par
from tests.par import par_signed
from tests.par import push

# FAPI 2.0 names EdDSA; joserfc warns that RFC 9864 deprecates the name when the TPP side
# signs with it (the server's own registry pins Ed25519 and does not warn).
pytestmark = pytest.mark.filterwarnings("ignore:EdDSA is deprecated")

DOCUMENT = "/.well-known/openid-configuration"


def unexercised(key: str, value: Any) -> NoReturn:
    pytest.fail(f"{key}: {value!r} is advertised but nothing here proves it works")


# -- the authorization request ------------------------------------------------------------


def response_type(kit: Kit, value: str) -> None:
    kit.code_flow(kit.tpp(), response_type=value)


def response_mode(kit: Kit, value: str) -> None:
    tpp = kit.tpp()
    kit.redeemed(tpp, kit.authorized(tpp, response_mode=value))


# RFC 7636 §4.2: how a TPP derives each method's challenge from its verifier.
CHALLENGES: dict[str, Callable[[str], str]] = {
    "S256": lambda verifier: (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    ),
}


def pkce_method(kit: Kit, value: str) -> None:
    if value not in CHALLENGES:
        unexercised("code_challenge_methods_supported", value)
    tpp = kit.tpp()
    verifier = secrets.token_urlsafe(48)
    pushed = push(
        kit.client,
        kit.svc,
        tpp,
        code_challenge=CHALLENGES[value](verifier),
        code_challenge_method=value,
    )
    kit.redeemed(tpp, kit.finish(tpp, Pushed(pushed.params, verifier, pushed.request_uri)))


def request_object_alg(kit: Kit, value: str) -> None:
    tpp = kit.tpp(alg=value)
    params, verifier = tpp.authorization_params()
    signed = tpp.request_object(params, alg=value, **jar_times(kit.svc))
    response = par_signed(kit.client, kit.svc, tpp, signed)
    assert response.status_code == 201, response.get_data(as_text=True)
    pushed = Pushed(params, verifier, response.get_json()["request_uri"])
    kit.redeemed(tpp, kit.finish(tpp, pushed))


def require_signed_request_object(kit: Kit, value: bool) -> None:
    tpp = kit.tpp()
    params, _verifier = tpp.authorization_params()
    response = par(kit.client, kit.svc, tpp, params)
    if value:
        assert_oauth_error(response, 400, "invalid_request")
    else:
        assert response.status_code == 201, response.get_data(as_text=True)


def require_par(kit: Kit, value: bool) -> None:
    if not value:
        unexercised("require_pushed_authorization_requests", value)
    params, _verifier = kit.tpp().authorization_params()
    query = "&".join(f"{name}={value}" for name, value in params.items())
    response = kit.client.get(f"/authorize?{query}", base_url=kit.svc.settings.issuer)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "Location" not in response.headers


def jarm_alg(kit: Kit, value: str) -> None:
    tpp = kit.tpp(authorization_signed_response_alg=value)
    flow = kit.authorized(tpp, response_mode="jwt")
    assert jwt_header(query_params(flow.raw.location)["response"])["alg"] == value
    kit.redeemed(tpp, flow)


def iss_parameter(kit: Kit, value: bool) -> None:
    if value:
        # RFC 9207 §2: iss in the plain query response, equal to the metadata's issuer.
        assert kit.authorized(kit.tpp()).params["iss"] == kit.metadata["issuer"]


# -- the token endpoint and the client-authenticated endpoints ----------------------------


def _refresh_token(kit: Kit, tpp: Tpp) -> None:
    body = kit.code_flow(tpp)
    response = refresh(kit.client, kit.svc, tpp, body["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["access_token"] != body["access_token"]


GRANTS: dict[str, Callable[[Kit, Tpp], Any]] = {
    "authorization_code": Kit.code_flow,
    "refresh_token": _refresh_token,
    "client_credentials": Kit.client_credentials,
}


def grant_type(kit: Kit, value: str) -> None:
    if value not in GRANTS:
        unexercised("grant_types_supported", value)
    GRANTS[value](kit, kit.tpp())


def _auth_method(key: str, value: str) -> None:
    # The TPP kit signs private_key_jwt assertions; any other method needs its own client.
    if value != "private_key_jwt":
        unexercised(key, value)


def token_auth(kit: Kit, value: str, *, alg: str = "ES256") -> None:
    kit.client_credentials(kit.tpp(alg=alg, token_endpoint_auth_method=value))


def revocation_auth(kit: Kit, value: str, *, alg: str = "ES256") -> None:
    tpp = kit.tpp(alg=alg, token_endpoint_auth_method=value)
    token = kit.client_credentials(tpp)["access_token"]
    response = revoke(kit.client, kit.svc, tpp, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert introspection(kit.client, kit.svc, tpp, token)["active"] is False


def introspection_auth(kit: Kit, value: str, *, alg: str = "ES256") -> None:
    tpp = kit.tpp(alg=alg, token_endpoint_auth_method=value)
    token = kit.client_credentials(tpp)["access_token"]
    assert introspection(kit.client, kit.svc, tpp, token)["active"] is True


def auth_methods(key: str, exercise: Callable[..., None]) -> Callable[[Kit, str], None]:
    def run(kit: Kit, value: str) -> None:
        _auth_method(key, value)
        exercise(kit, value)

    return run


def auth_algs(key: str, exercise: Callable[..., None]) -> Callable[[Kit, str], None]:
    """Each alg with every advertised method of the same endpoint."""
    methods_key = key.replace("_signing_alg_values_supported", "_methods_supported")

    def run(kit: Kit, value: str) -> None:
        for method in kit.metadata[methods_key]:
            _auth_method(methods_key, method)
            exercise(kit, method, alg=value)

    return run


def introspection_signing_alg(kit: Kit, value: str) -> None:
    rs = kit.resource_server(introspection_signed_response_alg=value)
    token = kit.client_credentials(kit.tpp())["access_token"]
    response = introspect(kit.client, kit.svc, rs, token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/token-introspection+jwt"
    answer = response.get_data(as_text=True)
    assert jwt_header(answer)["alg"] == value
    keys = server_keys(kit.transport, kit.svc.settings.issuer)
    claims = jwt.decode(answer, keys, algorithms=[value]).claims
    assert claims["token_introspection"]["active"] is True


def dpop_alg(kit: Kit, value: str) -> None:
    body = kit.client_credentials(kit.tpp(), dpop_key=generate_key(value))
    assert body["token_type"] == "DPoP"


# -- OpenID: ID tokens, subjects, claims, scopes ------------------------------------------


def id_token_alg(kit: Kit, value: str) -> None:
    header, _claims = kit.id_token()
    assert header["alg"] == value


def subject_type(kit: Kit, value: str) -> None:
    if value != "public":
        unexercised("subject_types_supported", value)
    # OIDC Core §8: a public sub is the same for every client.
    subjects = {kit.id_token(fresh=True)[1]["sub"] for _ in range(2)}
    assert len(subjects) == 1


def claim(kit: Kit, value: str) -> None:
    if value == "openbanking_intent_id":
        # UK OB: present only when the TPP asked for it, as essential, naming its consent.
        consent_id, body = ob_code_flow(kit, "claims")
        keys = server_keys(kit.transport, kit.svc.settings.issuer)
        claims = jwt.decode(body["id_token"], keys, algorithms=["PS256"]).claims
        assert claims[value] == consent_id
        return
    assert value in kit.id_token()[1]


def claims_parameter(kit: Kit, value: bool) -> None:
    if not value:
        unexercised("claims_parameter_supported", value)
    claim(kit, "openbanking_intent_id")


# -- open banking: the consent a TPP names in PAR -----------------------------------------


def ob_code_flow(kit: Kit, form: str) -> tuple[str, dict[str, Any]]:
    """A TPP creates a consent, names it in PAR in ``form``; the user approves one account."""
    chosen = seed_accounts(kit.app, kit.request.getfixturevalue("user"))[0]
    tpp = kit.tpp()
    consent_id = create_consent(kit.app, kit.svc, tpp.client_id)
    value = intent_claims(consent_id) if form == "claims" else rar(consent_id)
    return consent_id, approved_tokens(kit.client, kit.svc, tpp, chosen, **{form: as_param(value)})


def payment_code_flow(kit: Kit) -> tuple[str, str, dict[str, Any]]:
    """A TPP creates a payment consent, names it in PAR (RFC 9396); the user picks the
    account to pay from and approves."""
    chosen = seed_accounts(kit.app, kit.request.getfixturevalue("user"))[0]
    tpp = kit.tpp()
    consent_id = create_payment_consent(kit.app, kit.svc, tpp.client_id)
    details = as_param(payment_rar(consent_id))
    body = approved_payment_tokens(kit.client, kit.svc, tpp, chosen, authorization_details=details)
    return consent_id, chosen.account_id, body


def authorization_details_type(kit: Kit, value: str) -> None:
    if value == "payment_initiation":
        consent_id, debtor, body = payment_code_flow(kit)
        (granted,) = body["authorization_details"]
        assert granted == {"type": value, "consent_id": consent_id, "debtor_account": debtor}
        return
    if value != "account_access":
        unexercised("authorization_details_types_supported", value)
    consent_id, body = ob_code_flow(kit, "authorization_details")
    (granted,) = body["authorization_details"]
    assert (granted["type"], granted["consent_id"]) == (value, consent_id)


def acr_value(kit: Kit, value: str) -> None:
    # The fixture user has no second factor (CA); SCA needs a password + TOTP login.
    claims = kit.sca_id_token()[1] if value == ACR_SCA else kit.id_token()[1]
    assert claims["acr"] == value


def scope(kit: Kit, value: str) -> None:
    body = kit.code_flow(kit.tpp(), scope=value)
    assert value in body["scope"].split()
    if value == "openid":
        assert body["id_token"]


EXERCISERS: dict[str, Callable[[Kit, Any], None]] = {
    "response_types_supported": response_type,
    "response_modes_supported": response_mode,
    "code_challenge_methods_supported": pkce_method,
    "request_object_signing_alg_values_supported": request_object_alg,
    "require_signed_request_object": require_signed_request_object,
    "require_pushed_authorization_requests": require_par,
    "authorization_signing_alg_values_supported": jarm_alg,
    "authorization_response_iss_parameter_supported": iss_parameter,
    "authorization_details_types_supported": authorization_details_type,
    "grant_types_supported": grant_type,
    "token_endpoint_auth_methods_supported": auth_methods(
        "token_endpoint_auth_methods_supported", token_auth
    ),
    "token_endpoint_auth_signing_alg_values_supported": auth_algs(
        "token_endpoint_auth_signing_alg_values_supported", token_auth
    ),
    "revocation_endpoint_auth_methods_supported": auth_methods(
        "revocation_endpoint_auth_methods_supported", revocation_auth
    ),
    "revocation_endpoint_auth_signing_alg_values_supported": auth_algs(
        "revocation_endpoint_auth_signing_alg_values_supported", revocation_auth
    ),
    "introspection_endpoint_auth_methods_supported": auth_methods(
        "introspection_endpoint_auth_methods_supported", introspection_auth
    ),
    "introspection_endpoint_auth_signing_alg_values_supported": auth_algs(
        "introspection_endpoint_auth_signing_alg_values_supported", introspection_auth
    ),
    "introspection_signing_alg_values_supported": introspection_signing_alg,
    "dpop_signing_alg_values_supported": dpop_alg,
    "id_token_signing_alg_values_supported": id_token_alg,
    "subject_types_supported": subject_type,
    "claims_supported": claim,
    "claims_parameter_supported": claims_parameter,
    "acr_values_supported": acr_value,
    "scopes_supported": scope,
}


def is_capability(key: str) -> bool:
    """What the server claims to do; the other members are locations (issuer, endpoints)."""
    return key.endswith("_supported") or key.startswith("require_")


@pytest.fixture
def kit(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    transport: FlaskTransport,
    services_: Services,
    make_resource_server: Any,
    request: pytest.FixtureRequest,
) -> Kit:
    response = client.get(DOCUMENT, base_url=services_.settings.issuer)
    assert response.status_code == 200
    metadata = response.get_json()
    return Kit(app, client, browser, transport, services_, make_resource_server, metadata, request)


def test_every_advertised_capability_has_an_exerciser(kit: Kit) -> None:
    locations = {"issuer", "jwks_uri"}
    for key in kit.metadata:
        if key in locations or key.endswith("_endpoint"):
            continue
        assert is_capability(key), f"{key}: neither a location nor a capability"
        assert key in EXERCISERS, f"{key} is advertised but nothing here exercises it"


@pytest.mark.parametrize("key", sorted(EXERCISERS))
def test_every_advertised_value_works(kit: Kit, key: str) -> None:
    assert key in kit.metadata, f"{key} has an exerciser but is no longer advertised"
    values = kit.metadata[key]
    for value in values if isinstance(values, list) else [values]:
        EXERCISERS[key](kit, value)
