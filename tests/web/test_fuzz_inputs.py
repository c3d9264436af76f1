"""Bounded property tests: whatever the form or JSON names and values (unicode, quotes,
NUL and other control characters, lone surrogates, huge numbers, repeated names, empty),
no endpoint ever answers 5xx. Findings F1-F3 were each one such input.

Derandomized with a fixed budget, so CI runs the same examples every time in seconds.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from authserver.context import Services
from conformance.tpp import Tpp
from tests.web.hostile import ASSERTION_TYPE
from tests.web.hostile import FORM_ENDPOINTS
from tests.web.hostile import admin_post
from tests.web.hostile import operator_token

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    # One app per test, shared by its examples: state piling up is part of the point.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KNOWN_NAMES = [
    "grant_type",
    "client_id",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "token",
    "token_type_hint",
    "refresh_token",
    "code",
    "code_verifier",
    "redirect_uri",
    "response_type",
    "request",
    "state",
    "nonce",
    "dpop_jkt",
    "code_challenge",
    "code_challenge_method",
]
HOSTILE_TEXT = ["", "\x00", '"', "\\", "é", "\x7f", "\r\n", "a" * 2000, "%00", "\u2028"]
HUGE_NUMBERS = st.integers(min_value=-(10**40), max_value=10**40)

text = st.text(max_size=40)
names = st.one_of(st.sampled_from(KNOWN_NAMES), text, st.sampled_from(HOSTILE_TEXT))
values = st.one_of(
    text,
    st.sampled_from(HOSTILE_TEXT),
    HUGE_NUMBERS.map(str),
    st.sampled_from(["1e999", "NaN", "-0", "client_credentials", "authorization_code"]),
)
# Raw bytes too: invalid UTF-8 after percent-decoding.
encoded_values = st.one_of(
    values.map(lambda v: v.encode("utf-8", "surrogatepass")), st.binary(max_size=30)
)
pairs = st.lists(st.tuples(names, encoded_values), max_size=6)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    HUGE_NUMBERS,
    st.floats(allow_nan=False),
    text,
    st.sampled_from(HOSTILE_TEXT),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
claim_names = st.sampled_from(["iss", "sub", "aud", "jti", "iat", "exp", "nbf"])


def _form_body(items: list[tuple[str, bytes]], repeat_first: bool) -> bytes:
    if repeat_first and items:
        items = [*items, items[0]]
    encoded = [
        f"{quote_from_bytes(n.encode('utf-8', 'surrogatepass'))}={quote_from_bytes(v)}"
        for n, v in items
    ]
    return "&".join(encoded).encode()


def _post(client: FlaskClient, svc: Services, path: str, body: bytes) -> Any:
    return client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        base_url=svc.settings.issuer,
    )


def _assert_no_5xx(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
def test_form_endpoints_never_answer_5xx(
    client: FlaskClient, services_: Services, tpp: Tpp, path: str
) -> None:
    @BOUNDED
    @given(items=pairs, repeat_first=st.booleans(), authenticated=st.booleans())
    def check(items: list[tuple[str, bytes]], repeat_first: bool, authenticated: bool) -> None:
        if authenticated:
            now = int(services_.clock.time())
            auth = tpp.auth_form(iat=now, exp=now + 60)
            items = [*items, *((k, v.encode()) for k, v in auth.items())]
        _assert_no_5xx(_post(client, services_, path, _form_body(items, repeat_first)))

    check()


@pytest.mark.parametrize("path", FORM_ENDPOINTS)
def test_fuzzed_client_assertion_claims_never_answer_5xx(
    client: FlaskClient, services_: Services, tpp: Tpp, path: str
) -> None:
    @BOUNDED
    @given(claims=st.dictionaries(claim_names, json_values, max_size=4))
    def check(claims: dict[str, Any]) -> None:
        now = int(services_.clock.time())
        assertion = tpp.assertion(**{"iat": now, "exp": now + 60, **claims})
        form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        items = [(k, v.encode()) for k, v in form.items()]
        _assert_no_5xx(_post(client, services_, path, _form_body(items, False)))

    check()


def test_admin_revocations_never_answers_5xx(
    app: Flask, client: FlaskClient, services_: Services
) -> None:
    token = operator_token(app, client, services_)
    targets = st.sampled_from(["client_id", "user_id", "consent_id", "reason"])
    objects = st.dictionaries(
        st.one_of(targets, text, st.sampled_from(HOSTILE_TEXT)), json_values, max_size=4
    )

    @BOUNDED
    @given(body=st.one_of(objects, json_values), ascii_only=st.booleans())
    def check(body: Any, ascii_only: bool) -> None:
        raw = json.dumps(body, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        _assert_no_5xx(admin_post(client, services_, token, raw))

    check()
