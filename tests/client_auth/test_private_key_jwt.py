"""private_key_jwt rules (RFC 7523, OIDC Core §9, FAPI 2.0 SP): one test per rule.

Conformance modules: #46, #51-55, #65, #66, #76-78; checklist A3, A5, A7, A12, A29, F1-F9.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import Key
from joserfc.jwk import OctKey
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

from authserver import create_app
from authserver.client_auth.errors import InvalidClientError
from authserver.client_auth.service import ASSERTION_TYPE
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.store import StoreUnavailableError
from tests.client_auth import assertion
from tests.client_auth import form
from tests.client_auth import public_jwks
from tests.client_auth import register
from tests.client_auth import shared_key
from tppkit import b64url_decode
from tppkit import b64url_json

FIXED_DESCRIPTION = "Client authentication failed."


@pytest.fixture
def acme_key() -> Key:
    return shared_key("ES256", "acme-es256")


@pytest.fixture
def acme(svc: Services, acme_key: Key) -> str:
    register(svc, "acme", acme_key)
    return "acme"


def refused(svc: Services, data: dict[str, str]) -> InvalidClientError:
    with pytest.raises(InvalidClientError) as info:
        svc.client_auth.authenticate(data)
    error = info.value
    assert error.error == "invalid_client"
    assert error.status_code == 401
    assert error.description == FIXED_DESCRIPTION
    return error


def claims_for(svc: Services, client_id: str) -> dict[str, Any]:
    now = int(svc.clock.time())
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": svc.settings.issuer,
        "iat": now,
        "exp": now + 60,
        "jti": "jti-" + client_id,
    }


# --- accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_valid_assertion_is_accepted(svc: Services, alg: str) -> None:
    key = shared_key(alg, f"key-{alg}")
    register(svc, "tpp-" + alg.lower(), key)

    client = svc.client_auth.authenticate(form(assertion(svc, "tpp-" + alg.lower(), key, alg=alg)))

    assert client.client_id == "tpp-" + alg.lower()


def test_client_id_form_parameter_equal_to_iss_is_accepted(
    svc: Services, acme: str, acme_key: Key
) -> None:
    client = svc.client_auth.authenticate(form(assertion(svc, acme, acme_key), client_id=acme))
    assert client.client_id == acme


def test_assertion_without_kid_is_verified_with_the_clients_keys(
    svc: Services, acme_key: Key
) -> None:
    other = shared_key("PS256", "acme-ps256")
    register(svc, "acme", jwks=public_jwks(other, acme_key))

    token = assertion(svc, "acme", acme_key, header={"kid": None})

    assert svc.client_auth.authenticate(form(token)).client_id == "acme"


def test_nbf_8_seconds_in_the_future_is_accepted(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    token = assertion(svc, acme, acme_key, nbf=now + 8, iat=now + 8, exp=now + 68)

    assert svc.client_auth.authenticate(form(token)).client_id == acme


# --- F1: the form -----------------------------------------------------------------------


def test_wrong_client_assertion_type_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    data = form(assertion(svc, acme, acme_key))
    data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    refused(svc, data)


def test_missing_client_assertion_type_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    data = form(assertion(svc, acme, acme_key))
    del data["client_assertion_type"]
    refused(svc, data)


def test_missing_client_assertion_is_refused(svc: Services, acme: str) -> None:
    refused(svc, {"client_assertion_type": ASSERTION_TYPE, "client_id": acme})


def test_malformed_client_assertion_is_refused(svc: Services, acme: str) -> None:
    refused(svc, form("not-a-jwt"))
    refused(svc, form("a.b.c"))
    refused(svc, form(b64url_json({"alg": "ES256"}) + "." + b64url_json({"iss": acme}) + ".é"))


# --- F7 / A29: algorithms ---------------------------------------------------------------


def test_rs256_assertion_is_refused(svc: Services) -> None:
    key = shared_key("RS256", "rsa-key")
    register(svc, "rsa-client", key)

    refused(svc, form(assertion(svc, "rsa-client", key, alg="RS256")))


def test_hs256_assertion_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    secret = OctKey.generate_key(256, {"kid": str(acme_key.kid)}, private=True)
    token = jwt.encode(
        {"alg": "HS256", "kid": acme_key.kid}, claims_for(svc, acme), secret, ["HS256"]
    )

    refused(svc, form(token))


def test_alg_none_assertion_is_refused(svc: Services, acme: str) -> None:
    token = b64url_json({"alg": "none"}) + "." + b64url_json(claims_for(svc, acme)) + "."

    refused(svc, form(token))


def test_eddsa_with_an_ed448_key_is_refused(svc: Services) -> None:
    key = OKPKey.generate_key("Ed448", {"kid": "ed448"}, private=True)
    register(svc, "ed448-client", key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        token = jwt.encode(
            {"alg": "EdDSA", "kid": "ed448"},
            claims_for(svc, "ed448-client"),
            key,
            registry=JWSRegistry(algorithms=["EdDSA"]),
        )

    refused(svc, form(token))


# --- signatures and keys ----------------------------------------------------------------


def test_bad_signature_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    first = assertion(svc, acme, acme_key)
    second = assertion(svc, acme, acme_key)
    forged = first.rsplit(".", 1)[0] + "." + second.rsplit(".", 1)[1]

    refused(svc, form(forged))


def test_assertion_signed_with_another_clients_key_is_refused(
    svc: Services, acme: str, acme_key: Key
) -> None:
    other_key = shared_key("ES256", "other-es256")
    register(svc, "other", other_key)

    # The other client's kid is not among acme's keys; under acme's kid the signature fails.
    refused(svc, form(assertion(svc, acme, other_key)))
    refused(svc, form(assertion(svc, acme, other_key, header={"kid": acme_key.kid})))
    refused(svc, form(assertion(svc, acme, other_key, header={"kid": None})))


# --- F2 / A3 / A5: the client -----------------------------------------------------------


def test_unknown_client_is_refused(svc: Services, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, "nobody", acme_key)))


def test_disabled_client_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    svc.clients.disable(acme, actor="test")

    refused(svc, form(assertion(svc, acme, acme_key)))


def test_client_not_registered_for_private_key_jwt_is_refused(
    svc: Services, acme: str, acme_key: Key
) -> None:
    client = svc.clients.get(acme)
    assert client is not None
    client.token_endpoint_auth_method = "none"
    db.session.flush()

    refused(svc, form(assertion(svc, acme, acme_key)))


def test_client_id_form_parameter_mismatch_is_refused(
    svc: Services, acme: str, acme_key: Key
) -> None:
    register(svc, "client-2", shared_key("ES256", "client-2-es256"))

    refused(svc, form(assertion(svc, acme, acme_key), client_id="client-2"))


def test_missing_sub_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, drop=("sub",))))


def test_sub_different_from_iss_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, sub="someone-else")))


def test_missing_iss_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, drop=("iss",)), client_id=acme))


# --- F3 / A7: audience ------------------------------------------------------------------


def test_aud_as_array_with_the_issuer_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, aud=[svc.settings.issuer])))


def test_aud_token_endpoint_url_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, aud=svc.settings.issuer + "/token")))


def test_aud_par_endpoint_url_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, aud=svc.settings.issuer + "/par")))


def test_aud_of_another_server_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, aud="https://other-as.example")))


def test_missing_aud_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, drop=("aud",))))


# --- F4 / F6 / A12: time ----------------------------------------------------------------


def test_missing_exp_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, drop=("exp",))))


def test_expired_assertion_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    refused(svc, form(assertion(svc, acme, acme_key, iat=now - 360, exp=now - 300)))


def test_assertion_expires_on_the_injected_clock(
    svc: Services, clock: FrozenClock, acme: str, acme_key: Key
) -> None:
    token = assertion(svc, acme, acme_key)
    clock.advance(61)

    refused(svc, form(token))


def test_lifetime_over_five_minutes_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    refused(svc, form(assertion(svc, acme, acme_key, iat=now, exp=now + 301)))
    refused(svc, form(assertion(svc, acme, acme_key, drop=("iat",), exp=now + 301)))


def test_iat_70_seconds_in_the_future_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    refused(svc, form(assertion(svc, acme, acme_key, iat=now + 70, exp=now + 130)))


def test_nbf_70_seconds_in_the_future_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    refused(svc, form(assertion(svc, acme, acme_key, nbf=now + 70, exp=now + 130)))


def test_iat_nbf_and_exp_all_70_seconds_ahead_are_refused(
    svc: Services, acme: str, acme_key: Key
) -> None:
    now = int(svc.clock.time())
    ahead = now + 70
    refused(svc, form(assertion(svc, acme, acme_key, iat=ahead, nbf=ahead, exp=ahead + 60)))


# --- F5: jti ----------------------------------------------------------------------------


def test_missing_jti_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, drop=("jti",))))


def test_non_string_jti_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, jti=12345)))


def test_replayed_jti_is_refused(svc: Services, acme: str, acme_key: Key) -> None:
    token = assertion(svc, acme, acme_key)
    svc.client_auth.authenticate(form(token))

    refused(svc, form(token))
    # The same jti in a freshly signed assertion is a replay too.
    refused(svc, form(assertion(svc, acme, acme_key, jti=json.loads(_payload(token))["jti"])))


def test_refused_assertion_does_not_consume_its_jti(
    svc: Services, acme: str, acme_key: Key
) -> None:
    refused(svc, form(assertion(svc, acme, acme_key, jti="j-1", aud="https://other.example")))

    assert svc.client_auth.authenticate(form(assertion(svc, acme, acme_key, jti="j-1")))


def test_store_unavailable_propagates_as_503(
    svc: Services, acme: str, acme_key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: Any, **kwargs: Any) -> bool:
        raise StoreUnavailableError()

    monkeypatch.setattr(svc.store, "first_use_then_get", unavailable)

    with pytest.raises(StoreUnavailableError) as info:
        svc.client_auth.authenticate(form(assertion(svc, acme, acme_key)))
    assert info.value.status_code == 503


# --- F9: one error, details only in the log ---------------------------------------------


def test_every_failure_has_the_same_description(svc: Services, acme: str, acme_key: Key) -> None:
    now = int(svc.clock.time())
    failures = [
        {"client_assertion_type": ASSERTION_TYPE},
        form("garbage"),
        form(assertion(svc, "nobody", acme_key)),
        form(assertion(svc, acme, acme_key, aud=[svc.settings.issuer])),
        form(assertion(svc, acme, acme_key, exp=now - 300)),
        form(assertion(svc, acme, acme_key, drop=("sub",))),
        form(assertion(svc, acme, shared_key("ES256", "stranger"))),
        form(assertion(svc, acme, acme_key), client_id="someone-else"),
    ]
    errors = [refused(svc, data) for data in failures]

    assert {(e.error, e.description, e.status_code) for e in errors} == {
        ("invalid_client", FIXED_DESCRIPTION, 401)
    }
    assert {json.dumps(dict(e.get_body()), sort_keys=True) for e in errors} == {
        json.dumps({"error": "invalid_client", "error_description": FIXED_DESCRIPTION})
    }


@pytest.fixture
def info_svc(make_settings: Any, clock: FrozenClock) -> Iterator[Services]:
    """Services of an app logging at INFO, where the failure reasons go."""
    app = create_app(make_settings(log_level="INFO"), clock=clock)
    with app.app_context():
        yield services(app)
        db.session.remove()
        db.engine.dispose()


def test_failure_reason_is_logged_without_the_assertion(
    info_svc: Services, acme_key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    register(info_svc, "acme", acme_key)
    token = assertion(info_svc, "acme", acme_key, aud=info_svc.settings.issuer + "/token")

    refused(info_svc, form(token))

    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.startswith("authserver")]
    [entry] = [line for line in lines if line["event"] == "client_authentication_failed"]
    assert entry["level"] == "info"
    assert entry["client_id"] == "acme"
    assert "aud" in entry["error_detail"]
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text


def _payload(token: str) -> bytes:
    return b64url_decode(token.split(".")[1])
