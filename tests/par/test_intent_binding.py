"""PAR names an open-banking consent: UK OB ``claims`` (openbanking_intent_id) or RFC 9396
``authorization_details``; only an AWAU, unexpired consent of the pushing client passes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.experience import experience
from tests.helpers import assert_oauth_error
from tests.ob_consents import as_param
from tests.ob_consents import create_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import rar
from tests.par import jar_times
from tests.par import par
from tests.par import par_signed
from tppkit import Tpp

UK = "claims"
RAR = "authorization_details"


def naming(form: str, consent_id: str) -> dict[str, str]:
    """The plain PAR parameter that names ``consent_id`` in ``form``."""
    value = intent_claims(consent_id) if form == UK else rar(consent_id)
    return {form: as_param(value)}


def push_plain(client: FlaskClient, svc: Services, tpp: Tpp, **extra: str) -> TestResponse:
    params, _verifier = tpp.authorization_params(**extra)
    return par(client, svc, tpp, params)


def push_signed(client: FlaskClient, svc: Services, tpp: Tpp, **claims: Any) -> TestResponse:
    params, _verifier = tpp.authorization_params()
    signed = tpp.request_object(params, **jar_times(svc), **claims)
    return par_signed(client, svc, tpp, signed)


def stored(app: Flask, svc: Services, tpp: Tpp, response: TestResponse) -> Any:
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        return svc.par.get(response.get_json()["request_uri"], tpp.client_id)


def assert_refused(response: TestResponse, error: str, description: str) -> None:
    body = assert_oauth_error(response, 400, error)
    assert body["error_description"] == description


ERRORS = {UK: "invalid_request", RAR: "invalid_authorization_details"}


def assert_naming_refused(
    client: FlaskClient,
    svc: Services,
    tpp: Tpp,
    named: dict[str, str],
    description: str,
) -> None:
    """Push the PAR parameter ``named`` plainly and check the refusal: the error code of
    the form the consent is named in (ERRORS, by the parameter's name) and
    ``description``."""
    (form,) = named
    response = push_plain(client, svc, tpp, **named)
    assert_refused(response, ERRORS[form], description)


def decide(app: Flask, consent_id: str, user: str, decision: str = "authorised") -> None:
    """Record the user's decision on ``consent_id`` (authorised for "acc-1", or rejected)
    as the consent page would, committed."""
    with app.app_context():
        consents = experience(app).consents
        if decision == "authorised":
            consents.authorise(consent_id, user_id=user, accounts=["acc-1"], request_id="t")
        else:
            consents.reject(consent_id, user_id=user, request_id="t")
        db.session.commit()


# -- accepted ---------------------------------------------------------------------------


def test_uk_form_as_plain_parameter_binds_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    claims = intent_claims(consent_id, "id_token", "userinfo")
    request = stored(
        app, services_, tpp, push_plain(client, services_, tpp, claims=as_param(claims))
    )
    assert request.consent_id == consent_id
    assert request.intent_form == "claims"
    assert request.intent_claims == ("id_token", "userinfo")


@pytest.mark.parametrize("spelling", ["object", "string"])
def test_uk_form_inside_a_signed_request_object_binds_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, spelling: str
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    claims: Any = intent_claims(consent_id, "userinfo")
    value = claims if spelling == "object" else as_param(claims)
    request = stored(app, services_, tpp, push_signed(client, services_, tpp, claims=value))
    assert (request.consent_id, request.intent_form) == (consent_id, "claims")
    assert request.intent_claims == ("userinfo",)


def test_rar_form_as_plain_parameter_binds_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    response = push_plain(client, services_, tpp, **naming(RAR, consent_id))
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.intent_form) == (consent_id, "authorization_details")
    assert request.intent_claims == ()


def test_rar_form_inside_a_signed_request_object_binds_the_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    response = push_signed(client, services_, tpp, authorization_details=rar(consent_id))
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.intent_form) == (consent_id, "authorization_details")


def test_both_forms_naming_the_same_consent_are_accepted(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    response = push_plain(
        client, services_, tpp, **naming(RAR, consent_id), **naming(UK, consent_id)
    )
    request = stored(app, services_, tpp, response)
    assert (request.consent_id, request.intent_form) == (consent_id, "authorization_details")
    assert request.intent_claims == ("id_token",)


def test_a_request_without_a_consent_is_unchanged(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    request = stored(app, services_, tpp, push_plain(client, services_, tpp))
    assert (request.consent_id, request.intent_form, request.intent_claims) == (None, None, ())


def test_claims_without_the_intent_claim_name_no_consent(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    # OIDC Core §5.5: other requested claims are ignored, not an error.
    claims = as_param({"id_token": {"acr": {"essential": True}}, "userinfo": None})
    request = stored(app, services_, tpp, push_plain(client, services_, tpp, claims=claims))
    assert request.consent_id is None


# -- the consent must be this client's, awaiting authorisation and unexpired -------------


@pytest.mark.parametrize("form", [UK, RAR])
def test_unknown_consent_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, form: str
) -> None:
    assert_naming_refused(
        client, services_, tpp, naming(form, "no-such-consent"), "The consent is unknown."
    )


@pytest.mark.parametrize("form", [UK, RAR])
def test_another_clients_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, form: str
) -> None:
    tpp, other = make_tpp("tpp-one"), make_tpp("tpp-two")
    consent_id = create_consent(app, services_, other.client_id)
    assert_naming_refused(
        client, services_, tpp, naming(form, consent_id), "The consent belongs to another client."
    )


@pytest.mark.parametrize("form", [UK, RAR])
@pytest.mark.parametrize("decision", ["authorised", "rejected"])
def test_a_decided_consent_is_refused(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    user: str,
    form: str,
    decision: str,
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id)
    decide(app, consent_id, user, decision)
    assert_naming_refused(
        client,
        services_,
        tpp,
        naming(form, consent_id),
        "The consent is not awaiting authorisation.",
    )


@pytest.mark.parametrize("form", [UK, RAR])
def test_an_expired_consent_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, clock: FrozenClock, form: str
) -> None:
    consent_id = create_consent(
        app, services_, tpp.client_id, expires_at=clock.now() + timedelta(seconds=30)
    )
    clock.advance(30)
    assert_naming_refused(
        client, services_, tpp, naming(form, consent_id), "The consent has expired."
    )


def test_an_open_ended_consent_is_accepted(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    consent_id = create_consent(app, services_, tpp.client_id, expires_at=None)
    request = stored(
        app, services_, tpp, push_plain(client, services_, tpp, **naming(UK, consent_id))
    )
    assert request.consent_id == consent_id


def test_both_forms_naming_different_consents_are_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    first = create_consent(app, services_, tpp.client_id)
    second = create_consent(app, services_, tpp.client_id)
    response = push_plain(client, services_, tpp, **naming(RAR, first), **naming(UK, second))
    assert_refused(
        response, "invalid_request", "claims and authorization_details name different consents."
    )


# -- malformed claims (invalid_request) -----------------------------------------------------

NOT_OBJECT = "claims must be a JSON object."
MEMBER_NOT_OBJECT = "claims members must be JSON objects."
NOT_ESSENTIAL = "openbanking_intent_id must be requested as essential."
BAD_VALUE = "openbanking_intent_id needs a valid consent id value."


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ("{not json", NOT_OBJECT),
        ('["id_token"]', NOT_OBJECT),
        ('{"id_token": "openbanking_intent_id"}', MEMBER_NOT_OBJECT),
        ('{"id_token": {"openbanking_intent_id": null}}', NOT_ESSENTIAL),
        ('{"id_token": {"openbanking_intent_id": {"value": "c-1"}}}', NOT_ESSENTIAL),
        (
            '{"id_token": {"openbanking_intent_id": {"value": "c-1", "essential": false}}}',
            NOT_ESSENTIAL,
        ),
        ('{"id_token": {"openbanking_intent_id": {"essential": true}}}', BAD_VALUE),
        ('{"id_token": {"openbanking_intent_id": {"value": 7, "essential": true}}}', BAD_VALUE),
        (
            '{"userinfo": {"openbanking_intent_id": {"value": "a\\u0000b", "essential": true}}}',
            BAD_VALUE,
        ),
        (
            '{"id_token": {"openbanking_intent_id": {"value": "a", "essential": true}},'
            ' "userinfo": {"openbanking_intent_id": {"value": "b", "essential": true}}}',
            "openbanking_intent_id differs between id_token and userinfo.",
        ),
    ],
)
def test_malformed_claims_are_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp, claims: str, description: str
) -> None:
    assert_refused(
        push_plain(client, services_, tpp, claims=claims), "invalid_request", description
    )


def test_claims_that_are_not_an_object_inside_a_request_object_are_invalid_request(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = push_signed(client, services_, tpp, claims=["id_token"])
    assert_refused(response, "invalid_request", NOT_OBJECT)


# -- malformed authorization_details (invalid_authorization_details) ------------------------

BAD_ID = "consent_id is missing or invalid."


@pytest.mark.parametrize(
    ("details", "description"),
    [
        ("[{", "The authorization_details are invalid."),
        (
            '{"type": "account_access", "consent_id": "c-1"}',
            "authorization_details must be a non-empty array.",
        ),
        ("[]", "authorization_details must be a non-empty array."),
        ('["account_access"]', "Each authorization_details entry is an object."),
        (
            '[{"type": "account_information", "consent_id": "c-1"}]',
            "Unknown authorization_details type.",
        ),
        ('[{"consent_id": "c-1"}]', "Unknown authorization_details type."),
        ('[{"type": "account_access"}]', BAD_ID),
        ('[{"type": "account_access", "consent_id": ""}]', BAD_ID),
        ('[{"type": "account_access", "consent_id": 12}]', BAD_ID),
        ('[{"type": "account_access", "consent_id": "a\\u0000b"}]', BAD_ID),
        ('[{"type": "account_access", "consent_id": "' + "c" * 129 + '"}]', BAD_ID),
        (
            '[{"type": "account_access", "consent_id": "c-1", "accounts": ["a"]}]',
            "Unknown field in authorization_details.",
        ),
        (
            '[{"type": "account_access", "consent_id": "c-1"},'
            ' {"type": "account_access", "consent_id": "c-2"}]',
            "Exactly one consent may be named.",
        ),
    ],
)
def test_malformed_authorization_details_are_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, details: str, description: str
) -> None:
    response = push_plain(client, services_, tpp, authorization_details=details)
    assert_refused(response, "invalid_authorization_details", description)


def test_authorization_details_object_inside_a_request_object_is_refused(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    details = {"type": "account_access", "consent_id": "c-1"}
    response = push_signed(client, services_, tpp, authorization_details=details)
    assert_refused(
        response,
        "invalid_authorization_details",
        "authorization_details must be a non-empty array.",
    )
