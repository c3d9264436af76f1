"""Hostile input on the UK Open Banking v4.0 endpoints (consents, accounts, payments,
/openapi.json, PAR's ``claims``/``authorization_details``, the consent page's account
fields) is a 4xx, never a 500: control characters, non-ASCII and lone surrogates in every
body field and key, in path ids, query parameters and headers; oversized and deeply
nested bodies; and an unreachable database or store is a 503."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from werkzeug.test import TestResponse

from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.openbanking.envelope import AISP_PREFIX
from authserver.openbanking.envelope import PISP_PREFIX
from authserver.settings import Settings
from authserver.tokens.access_token import TokenSubject
from tests.accounts.kit import AccountsCaller
from tests.accounts.kit import authorised_consent
from tests.accounts.kit import caller_for
from tests.accounts.kit import issue_token
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.helpers import closed_port
from tests.lifecycle import client_credentials_token
from tests.ob_consents import as_param
from tests.ob_consents import create_consent as create_aisp_consent
from tests.ob_consents import intent_claims
from tests.ob_consents import open_consent_page
from tests.ob_consents import rar
from tests.ob_consents import seed_accounts
from tests.ob_consents import submit_consent
from tests.openbanking import CONSENTS as AISP_CONSENTS
from tests.openbanking import call
from tests.par import par
from tests.payments.kit import CONSENTS as PISP_CONSENTS
from tests.payments.kit import PAYMENTS
from tests.payments.kit import PispCaller
from tests.payments.kit import authorise
from tests.payments.kit import cc_caller
from tests.payments.kit import consent_body as pisp_consent_body
from tests.payments.kit import create_consent as create_pisp_consent
from tests.payments.kit import debtor_account
from tests.payments.kit import payer
from tests.payments.kit import payment_body
from tests.web.hostile import ASSERTION_TYPE
from tests.web.hostile import FORM_ENDPOINTS
from tests.web.test_database_outage import down_app  # noqa: F401 -- the fixture
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key
from tppkit.registration import register_tpp

# Text a TPP could put in any JSON string: NUL, other C0/C1 controls, DEL, non-ASCII,
# a right-to-left override, a lone surrogate (legal as a JSON escape, not as UTF-8),
# and something far longer than any field allows.
HOSTILE_TEXT = [
    "\u0000",
    "a\u0000b",
    "\u0001\u001b[31m\u007f\u0085",
    "\r\n",
    "é",
    "\u202egnp.exe",
    "\ud800",
    "a\udfffb",
    "x" * 5000,
]
# Values of other JSON types where a string, list or object is expected.
HOSTILE_VALUES: list[Any] = [*HOSTILE_TEXT, None, 0, -1.5e308, True, [], {}, ["\u0000"]]
# A form cannot carry a lone surrogate (a browser sends bytes; werkzeug replaces bad ones).
HOSTILE_FORM = [text for text in HOSTILE_TEXT if "\ud800" not in text and "\udfff" not in text]
HOSTILE_IDS = ["%00", "a%00b", "%C3%A9", "%E2%80%AE", "%ED%A0%80", "%FF", "..%2F..", "x" * 8000]
# What a real server hands the app for a header: its bytes as latin-1 (PEP 3333).
HOSTILE_HEADERS = [
    "\u0000",
    "a\u0000b",
    "\u0001\u007f",
    "é".encode().decode("latin-1"),
    "\u202e".encode().decode("latin-1"),
    "\xff\xfe",
    "x" * 6000,
]
HOSTILE_QUERY = [
    "%00",
    "2026-01-01T00:00:00%00",
    "%C3%A9",
    "%E2%80%AE2026-01-01",
    "%ED%A0%80",
    "%FF",
    "2026-13-45T99:99:99Z",
    "99999999999999999999",
    "-1",
    "x" * 5000,
]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member and item of a JSON document, as a path of keys and indexes."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))


def objects(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every JSON object in a document (the places a hostile key can go)."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from objects(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from objects(item, (*path, index))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


def with_key(body: Any, path: tuple[Any, ...], key: str) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step in path:
        target = target[step]
    target[key] = "v"
    return changed


def hostile_bodies(body: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """``body`` with each member replaced by each hostile value, and each object given
    each hostile key; JSON escapes keep lone surrogates representable."""
    for path in leaves(body):
        found: Any = body
        for step in path:
            found = found[step]
        # A valid value with a NUL or line break inside or after it (Python's
        # fromisoformat stops reading at a NUL), as well as wholly hostile values.
        spliced: list[Any] = []
        if isinstance(found, str) and len(found) > 3:
            spliced = [found + "\u0000", found[:-3] + "\u0000" + found[-3:], found + "\n"]
        for value in [*spliced, *HOSTILE_VALUES]:
            yield f"{path}={value!r:.40}", json.dumps(replaced(body, path, value)).encode()
    for path in objects(body):
        for key in HOSTILE_TEXT:
            yield f"{path} key {key!r:.40}", json.dumps(with_key(body, path, key)).encode()


def assert_not_500(response: TestResponse, case: str) -> None:
    """A 2xx is fine (``é`` is a valid name); a 4xx names the problem; nothing is 5xx."""
    assert response.status_code < 500, (case, response.get_data(as_text=True)[:500])
    if response.status_code >= 400 and response.status_code != 413:
        assert response.mimetype == "application/json", case
        body = response.get_json()
        assert ("Errors" in body) or ("error" in body), (case, body)


def assert_ob_4xx(response: TestResponse, case: str) -> None:
    assert 400 <= response.status_code < 500, (case, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert body, case
    assert body["Errors"], (case, body)
    for error in body["Errors"]:
        assert error["ErrorCode"].startswith("U0"), (case, error)
    assert response.headers["Cache-Control"] == "no-store"


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def aisp_token(client: FlaskClient, services_: Services, tpp: Tpp) -> str:
    return client_credentials_token(client, services_, tpp, scope="accounts:read")


@pytest.fixture
def tpp_cc(client: FlaskClient, services_: Services, tpp: Tpp) -> PispCaller:
    return cc_caller(client, services_, tpp)


@pytest.fixture
def paying(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> tuple[str, PispCaller]:
    debtor_account(app, services_, user)
    consent_id = create_pisp_consent(tpp_cc)
    authorise(app, consent_id, user)
    return consent_id, payer(app, client, services_, tpp, user, consent_id)


AISP_BODY: dict[str, Any] = {
    "Data": {
        "Permissions": ["ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail"],
        "ExpirationDateTime": "2027-01-01T00:00:00+00:00",
        "TransactionFromDateTime": "2026-01-01T00:00:00+00:00",
        "TransactionToDateTime": "2026-06-30T23:59:59+00:00",
    },
    "Risk": {},
}


# -- 1. hostile text in bodies, keys, ids, queries, headers -----------------------------


def test_aisp_consent_post_with_hostile_fields_and_keys_is_never_a_500(
    client: FlaskClient, services_: Services, aisp_token: str
) -> None:
    for case, data in hostile_bodies(AISP_BODY):
        response = call(
            client,
            services_,
            "POST",
            AISP_CONSENTS,
            aisp_token,
            data=data,
            content_type="application/json",
        )
        assert_not_500(response, case)
        if response.status_code != 201:
            assert_ob_4xx(response, case)


def test_aisp_consent_get_and_delete_with_hostile_ids_are_ob_404s(
    client: FlaskClient, services_: Services, aisp_token: str
) -> None:
    for raw in HOSTILE_IDS:
        for method in ("GET", "DELETE"):
            response = call(client, services_, method, f"{AISP_CONSENTS}/{raw}", aisp_token)
            if "%2F" in raw:  # two path segments: no route, the app's plain 404
                assert_not_500(response, raw)
                assert response.status_code == 404
            else:
                assert_ob_4xx(response, f"{method} {raw[:40]}")


def test_pisp_consent_post_with_hostile_fields_and_keys_is_never_a_500(
    tpp_cc: PispCaller,
) -> None:
    for case, data in hostile_bodies(pisp_consent_body()):
        response = tpp_cc.post(PISP_CONSENTS, data)
        assert_not_500(response, case)
        if response.status_code != 201:
            assert_ob_4xx(response, case)


def test_pisp_payment_post_with_hostile_fields_and_keys_is_never_a_500(
    paying: tuple[str, PispCaller],
) -> None:
    consent_id, caller = paying
    for case, data in hostile_bodies(payment_body(consent_id)):
        response = caller.post(PAYMENTS, data)
        # Any change to the Initiation or ConsentId mismatches the consent; a hostile
        # Risk member is ignored, so the payment may be made: 201, once.
        assert_not_500(response, case)
        if response.status_code != 201:
            assert_ob_4xx(response, case)


def test_pisp_gets_with_hostile_ids_are_4xx(
    paying: tuple[str, PispCaller], tpp_cc: PispCaller
) -> None:
    _consent_id, caller = paying
    for raw in HOSTILE_IDS:
        for who, path in (
            (tpp_cc, f"{PISP_CONSENTS}/{raw}"),
            (caller, f"{PISP_CONSENTS}/{raw}/funds-confirmation"),
            (tpp_cc, f"{PAYMENTS}/{raw}"),
            (tpp_cc, f"{PAYMENTS}/{raw}/payment-details"),
        ):
            response = _dpop_get(who, PISP_PREFIX, path)
            assert_not_500(response, path[:60])
            if "%2F" in raw:  # two path segments: no route, the app's plain 404
                assert response.status_code == 404
            else:
                assert_ob_4xx(response, path[:60])


def test_pisp_post_with_hostile_headers_is_never_a_500(tpp_cc: PispCaller) -> None:
    for value in HOSTILE_HEADERS:
        for name in ("x-fapi-interaction-id", "x-idempotency-key", "x-jws-signature"):
            response = tpp_cc.post(PISP_CONSENTS, pisp_consent_body(), headers={name: value})
            case = f"{name}={value[:40]!r}"
            assert_not_500(response, case)
            if name != "x-fapi-interaction-id":
                assert_ob_4xx(response, case)
    for header in (b"[" * 10_000 + b"]" * 10_000, b'{"alg":"' + b"\\ud800" + b'"}', b"\xff"):
        protected = base64.urlsafe_b64encode(header).rstrip(b"=").decode()
        response = tpp_cc.post(PISP_CONSENTS, pisp_consent_body(), signature=f"{protected}..c2ln")
        assert_ob_4xx(response, f"x-jws-signature header {header[:20]!r}")


def test_aisp_consent_post_with_hostile_headers_is_never_a_500(
    client: FlaskClient, services_: Services, aisp_token: str
) -> None:
    for value in HOSTILE_HEADERS:
        for name in ("x-fapi-interaction-id", "x-idempotency-key", "x-jws-signature"):
            response = call(
                client,
                services_,
                "POST",
                AISP_CONSENTS,
                aisp_token,
                json=AISP_BODY,
                headers={name: value},
            )
            assert_not_500(response, f"{name}={value[:40]!r}")


@pytest.fixture
def accounts_caller(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> Any:
    accounts = seed_accounts(app, user)
    consent_id = authorised_consent(app, tpp.client_id, user, selected=[accounts[0].account_id])
    return caller_for(app, client, services_, tpp.client_id, user, consent_id), accounts[0]


ACCOUNT_PATHS = [
    "/accounts",
    "/accounts/{id}",
    "/accounts/{id}/balances",
    "/balances",
    "/accounts/{id}/transactions",
    "/transactions",
]


def _dpop_get(
    caller: AccountsCaller | PispCaller,
    prefix: str,
    path: str,
    query: str = "",
    **headers: str,
) -> TestResponse:
    """A DPoP GET of a raw (percent-encoded) path; the proof's ``htu`` names the path as
    the server reads it (decoded), so a hostile id gets past the proof to the view."""
    url = caller.svc.settings.issuer + prefix + unquote(path, errors="replace")
    proof = dpop_proof(
        caller.key, "GET", url, access_token=caller.token, iat=int(caller.svc.clock.time())
    )
    response: TestResponse = caller.client.get(
        prefix + path + (f"?{query}" if query else ""),
        headers={"Authorization": f"DPoP {caller.token}", "DPoP": proof, **headers},
        base_url=caller.svc.settings.issuer,
    )
    return response


def test_accounts_api_with_hostile_ids_queries_and_headers_is_never_a_500(
    accounts_caller: Any,
) -> None:
    caller, account = accounts_caller
    for raw in HOSTILE_IDS:
        for path in ACCOUNT_PATHS[1:3] + ACCOUNT_PATHS[4:5]:
            response = _dpop_get(caller, AISP_PREFIX, path.format(id=raw))
            assert_not_500(response, path)
            if "%2F" in raw:
                assert response.status_code == 404
            else:
                assert_ob_4xx(response, f"{path} {raw[:40]}")
    for path in ("/accounts/{id}/transactions", "/transactions"):
        for name in ("fromBookingDateTime", "toBookingDateTime", "page"):
            for value in HOSTILE_QUERY:
                response = _dpop_get(
                    caller, AISP_PREFIX, path.format(id=account.account_id), f"{name}={value}"
                )
                case = f"{path} {name}={value[:40]}"
                assert_not_500(response, case)
                if response.status_code != 200:
                    assert_ob_4xx(response, case)
    for path in ACCOUNT_PATHS:
        for value in HOSTILE_HEADERS:
            response = _dpop_get(
                caller,
                AISP_PREFIX,
                path.format(id=account.account_id),
                **{"x-fapi-interaction-id": value},
            )
            assert_not_500(response, f"{path} {value[:40]!r}")


def test_openapi_json_with_hostile_query_and_headers_is_never_a_500(client: FlaskClient) -> None:
    for value in HOSTILE_QUERY:
        response = client.get(f"/openapi.json?x={value}")
        assert response.status_code == 200
    for value in HOSTILE_HEADERS:
        response = client.get("/openapi.json", headers={"x-fapi-interaction-id": value})
        assert response.status_code == 200


def test_par_with_hostile_claims_and_authorization_details_is_a_4xx(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    shapes: list[Callable[[Any], Any]] = [
        lambda v: v,
        lambda v: [v],
        lambda v: {"id_token": {"openbanking_intent_id": {"value": v, "essential": True}}},
        lambda v: [{"type": v, "consent_id": "c"}],
        lambda v: [{"type": "account_access", "consent_id": v}],
    ]
    keyed: list[Callable[[str], Any]] = [
        lambda v: {v: {}},
        lambda v: [{"type": "account_access", "consent_id": "c", v: "x"}],
    ]
    raw = ["{", "[" * 5000 + "]" * 5000, '{"a": NaN}', "\u0000", "%00"]
    for name in ("claims", "authorization_details"):
        values = [as_param(shape(v)) for shape in shapes for v in HOSTILE_VALUES]
        values += [as_param(shape(v)) for shape in keyed for v in HOSTILE_TEXT] + raw
        for value in values:
            params, _verifier = tpp.authorization_params(**{name: value})
            response = par(client, services_, tpp, params)
            case = f"{name}={value[:60]!r}"
            # Some shapes are harmless ({} asks for nothing): 201; the rest are refused.
            assert_not_500(response, case)
            if response.status_code != 201:
                error = response.get_json()["error"]
                assert error in {"invalid_request", "invalid_authorization_details"}, case


def test_a_deeply_nested_client_assertion_is_invalid_client(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    """PAR (and every client-authenticated endpoint) reads the assertion's claims before
    checking its signature: nesting past the parser's stack is a bad assertion."""
    nested = base64.urlsafe_b64encode(b"[" * 10_000 + b"]" * 10_000).rstrip(b"=").decode()
    header = base64.urlsafe_b64encode(b'{"alg":"ES256"}').rstrip(b"=").decode()
    params, _verifier = tpp.authorization_params()
    for path in FORM_ENDPOINTS:
        form = {
            **params,
            "grant_type": "client_credentials",
            "token": "t",
            "client_id": tpp.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": f"{header}.{nested}.c2ln",
        }
        response = client.post(path, data=form, base_url=services_.settings.issuer)
        assert_oauth_error(response, 401, "invalid_client")


def test_consent_page_with_hostile_account_fields_is_never_a_500(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    seed_accounts(app, user)
    for value in HOSTILE_FORM:
        consent_id = create_aisp_consent(app, services_, tpp.client_id)
        _pushed, shown = open_consent_page(
            client, services_, tpp, claims=as_param(intent_claims(consent_id))
        )
        assert shown.status_code == 200, shown.get_data(as_text=True)
        decided = submit_consent(client, services_, shown, accounts=[value])
        assert decided.status_code == 400, (value[:40], decided.status_code)


def test_payment_consent_page_with_hostile_debtor_is_never_a_500(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, tpp_cc: PispCaller
) -> None:
    seed_accounts(app, user)
    for value in HOSTILE_FORM:
        consent_id = create_pisp_consent(tpp_cc)
        _pushed, shown = open_consent_page(
            client,
            services_,
            tpp,
            authorization_details=as_param(rar(consent_id, "payment_initiation")),
            scope="openid payments:write",
        )
        assert shown.status_code == 200, shown.get_data(as_text=True)
        decided = submit_consent(client, services_, shown, debtor=value)
        assert decided.status_code == 400, (value[:40], decided.status_code)


# -- 2. oversized and deeply nested bodies -----------------------------------------------


def test_oversized_and_deeply_nested_bodies_on_the_new_posts(
    client: FlaskClient,
    services_: Services,
    aisp_token: str,
    tpp_cc: PispCaller,
    paying: tuple[str, PispCaller],
) -> None:
    _consent_id, caller = paying
    limit = services_.settings.max_body_bytes
    big = json.dumps({"Data": {"Permissions": ["x" * (limit + 1)]}, "Risk": {}}).encode()
    nested = ("[" * 10_000 + "]" * 10_000).encode()
    nested_object = ('{"a":' * 8_000 + "1" + "}" * 8_000).encode()  # under the limit

    posts: dict[str, Callable[[bytes], TestResponse]] = {
        "aisp consent": lambda data: call(
            client,
            services_,
            "POST",
            AISP_CONSENTS,
            aisp_token,
            data=data,
            content_type="application/json",
        ),
        "pisp consent": lambda data: tpp_cc.post(PISP_CONSENTS, data),
        "pisp payment": lambda data: caller.post(PAYMENTS, data),
    }
    for name, post in posts.items():
        assert_oauth_error(post(big), 413, "request_too_large")
        assert len(nested) < limit
        assert len(nested_object) < limit
        for data in (nested, nested_object):
            response = post(data)
            assert_ob_4xx(response, name)


# -- 3. outages --------------------------------------------------------------------------

ISSUER = "https://as.example.test"


def _token_shaped() -> str:
    """A well-formed access token naming a ``kid``: checking it needs the key table."""
    key = generate_key("ES256")
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "kid-from-the-database"}
    return jwt.encode(header, {"iss": ISSUER, "sub": "someone"}, key)


OUTAGE_CALLS = [
    ("POST", AISP_CONSENTS),
    ("GET", AISP_CONSENTS + "/c1"),
    ("DELETE", AISP_CONSENTS + "/c1"),
    *[("GET", AISP_PREFIX + path.format(id="acc-1")) for path in ACCOUNT_PATHS],
    ("POST", PISP_PREFIX + PISP_CONSENTS),
    ("GET", PISP_PREFIX + PISP_CONSENTS + "/c1"),
    ("GET", PISP_PREFIX + PISP_CONSENTS + "/c1/funds-confirmation"),
    ("POST", PISP_PREFIX + PAYMENTS),
    ("GET", PISP_PREFIX + PAYMENTS + "/p1"),
    ("GET", PISP_PREFIX + PAYMENTS + "/p1/payment-details"),
]


@pytest.mark.parametrize(
    ("method", "path"), OUTAGE_CALLS, ids=[f"{m} {p}" for m, p in OUTAGE_CALLS]
)
def test_open_banking_endpoint_is_503_when_the_database_is_unreachable(
    down_app: Flask,  # noqa: F811 -- the imported fixture
    method: str,
    path: str,
) -> None:
    response = down_app.test_client().open(
        path,
        method=method,
        json=AISP_BODY if method == "POST" else None,
        headers={
            "Authorization": f"Bearer {_token_shaped()}",
            "x-idempotency-key": "k",
            "x-jws-signature": "a..b",
        },
        base_url=ISSUER,
    )

    body = assert_oauth_error(response, 503, "temporarily_unavailable")
    assert set(body) == {"error", "request_id"}
    assert response.headers["Retry-After"]


@pytest.fixture
def store_down_app(
    make_settings: Callable[..., Settings], clock: FrozenClock, tmp_path: Path
) -> Iterator[Flask]:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    with app_with(settings, clock) as app:
        yield app


def test_pisp_post_is_503_when_the_store_is_unreachable(store_down_app: Flask) -> None:
    app = store_down_app
    svc = services(app)
    tpp = register_tpp(
        app, "outage-tpp", redirect_uri="https://tpp.example.test/cb", scopes=["payments:write"]
    )
    key = generate_key("ES256")
    subject = TokenSubject(
        sub=tpp.client_id, scopes=("payments:write",), dpop_jkt=str(key.thumbprint())
    )
    token = issue_token(app, svc, tpp.client_id, subject)
    caller = PispCaller(app.test_client(), svc, tpp, token, key)

    for path in (PISP_CONSENTS, PAYMENTS):
        response = caller.post(path, pisp_consent_body())
        # The DPoP proof's jti is checked in the store before the idempotency key is.
        body = assert_oauth_error(response, 503, "temporarily_unavailable")
        assert set(body) == {"error", "request_id"}
        assert response.headers["Retry-After"]
        assert "Traceback" not in response.get_data(as_text=True)
