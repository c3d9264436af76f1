"""The authorization response and the pages before it: consent decisions, RFC 9207 ``iss``,
the four JARM modes, 303 redirects, clickjacking headers, login failures, CSRF and the
session cookie.

Checklist A20, A23, A25, B9, G1-G4, G6, H1, H3, K9, K10; conformance: iss / JARM checks
run inside most modules, RejectNonJarmResponsesInUrlQuery.
"""

from __future__ import annotations

import re
import urllib.parse
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from authserver.audit.models import AuditEvent
from authserver.context import Services
from authserver.db import db
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import USERNAME
from tests.par import Pushed
from tests.par import authorize
from tests.par import authorize_path
from tests.par import decide
from tests.par import jwt_header
from tests.par import login
from tests.par import push
from tests.par import register
from tests.par import verify_jarm
from tppkit import Browser
from tppkit import Tpp
from tppkit import csrf_token

SESSION_COOKIE = "session"


def get(client: FlaskClient, svc: Services, path: str) -> TestResponse:
    return client.get(path, base_url=svc.settings.issuer)


def post(client: FlaskClient, svc: Services, path: str, form: dict[str, str]) -> TestResponse:
    return client.post(path, data=form, base_url=svc.settings.issuer)


def start(client: FlaskClient, svc: Services, tpp: Tpp, **overrides: str | None) -> Pushed:
    """PAR, then the browser lands on /authorize (and is sent to /login)."""
    pushed = push(client, svc, tpp, **overrides)
    response = get(client, svc, authorize_path(tpp.client_id, pushed.request_uri))
    assert response.status_code == 303, response.get_data(as_text=True)
    return pushed


def session_cookie(response: TestResponse) -> str:
    """The Set-Cookie line that sets the session cookie."""
    lines = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(SESSION_COOKIE)]
    assert len(lines) == 1, response.headers
    return lines[0]


def cookie_value(line: str) -> str:
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(line)
    return parsed[SESSION_COOKIE].value


def audit_events(app: Flask, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type))
        )


# -- plain query responses: iss on success and on error (RFC 9207) ----------------------


def test_approval_redirects_303_with_code_state_and_iss(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp)

    assert flow.raw.status == 303
    assert set(flow.params) == {"code", "state", "iss"}
    assert flow.params["iss"] == services_.settings.issuer
    assert flow.params["state"] == flow.pushed.params["state"]


def test_deny_redirects_303_with_access_denied_state_and_iss(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp, approve=False)

    assert flow.raw.status == 303
    assert flow.params["error"] == "access_denied"
    assert flow.params["iss"] == services_.settings.issuer
    assert flow.params["state"] == flow.pushed.params["state"]
    assert "code" not in flow.params


def test_without_state_the_response_carries_no_state(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> None:
    flow = authorize(client, browser, services_, tpp, state=None)

    assert set(flow.params) == {"code", "iss"}


def test_every_redirect_of_the_flow_is_303(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)

    to_login = get(client, services_, authorize_path(tpp.client_id, pushed.request_uri))
    to_consent = login(client, services_)
    to_client = decide(client, services_)

    assert [to_login.status_code, to_consent.status_code, to_client.status_code] == [303] * 3
    assert to_login.headers["Location"] == "/login"
    assert to_consent.headers["Location"] == "/consent"
    assert to_client.headers["Location"].startswith(tpp.redirect_uri + "?")


def test_consent_page_names_the_client_and_each_scope(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    start(client, services_, tpp, scope="openid accounts:read payments:write")
    login(client, services_)

    page = get(client, services_, "/consent").get_data(as_text=True)

    assert "tpp-one (test)" in page
    assert re.findall(r'data-scope="([^"]+)"', page) == [
        "openid",
        "accounts:read",
        "payments:write",
    ]


# -- JARM -------------------------------------------------------------------------------


def jarm_token(tpp: Tpp, response: TestResponse, mode: str) -> str:
    """The lone ``response`` parameter, wherever the mode puts it; nothing else travels."""
    if mode == "form_post.jwt":
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        assert "no-store" in response.headers["Cache-Control"]
        html = response.get_data(as_text=True)
        assert f'action="{tpp.redirect_uri}"' in html
        assert re.findall(r'<input[^>]*name="([^"]+)"', html) == ["response"]
        assert ".submit()" in html
        match = re.search(r'name="response" value="([^"]+)"', html)
        assert match
        return match.group(1)
    assert response.status_code == 303
    location = urllib.parse.urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == tpp.redirect_uri
    carrier, other = (
        (location.fragment, location.query)
        if mode == "fragment.jwt"
        else (location.query, location.fragment)
    )
    assert other == ""
    params = urllib.parse.parse_qs(carrier)
    assert list(params) == ["response"]
    return params["response"][0]


def assert_jarm_claims(claims: dict[str, Any], svc: Services, tpp: Tpp) -> None:
    assert claims["iss"] == svc.settings.issuer
    assert claims["aud"] == tpp.client_id
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert claims["iat"] <= svc.clock.time()


JARM_MODES = ["jwt", "query.jwt", "fragment.jwt", "form_post.jwt"]


@pytest.mark.parametrize("mode", JARM_MODES)
def test_jarm_success_carries_only_a_signed_response(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str, mode: str
) -> None:
    pushed = start(client, services_, tpp, response_mode=mode)
    login(client, services_)

    claims = verify_jarm(client, services_, jarm_token(tpp, decide(client, services_), mode))

    assert_jarm_claims(claims, services_, tpp)
    assert claims["state"] == pushed.params["state"]
    assert claims["code"]
    assert "error" not in claims


@pytest.mark.parametrize("mode", JARM_MODES)
def test_jarm_deny_carries_access_denied_inside_the_signed_response(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str, mode: str
) -> None:
    pushed = start(client, services_, tpp, response_mode=mode)
    login(client, services_)

    response = decide(client, services_, approve=False)

    claims = verify_jarm(client, services_, jarm_token(tpp, response, mode))
    assert_jarm_claims(claims, services_, tpp)
    assert claims["error"] == "access_denied"
    assert claims["state"] == pushed.params["state"]
    assert "code" not in claims


def test_jarm_is_signed_with_the_clients_registered_alg(
    client: FlaskClient, services_: Services, make_tpp: Any, user: str
) -> None:
    es256 = make_tpp("tpp-es", authorization_signed_response_alg="ES256")
    start(client, services_, es256, response_mode="jwt")
    login(client, services_)

    token = jarm_token(es256, decide(client, services_), "jwt")

    verify_jarm(client, services_, token)
    assert jwt_header(token)["alg"] == "ES256"


def test_form_post_jwt_allows_the_form_to_reach_a_redirect_uri_with_a_query(
    app: Flask, client: FlaskClient, services_: Services, user: str
) -> None:
    """CSP source expressions have no query part (CSP3 §2.3.1): a source carrying one is
    dropped by browsers, leaving form-action blocking the very post JARM needs."""
    redirect_uri = "https://tpp.example.test/cb?tenant=a1"
    tenant = register(
        app, services_, "tpp-tenant", scopes=["openid", "accounts:read"], redirect_uri=redirect_uri
    )
    start(client, services_, tenant, response_mode="form_post.jwt")
    login(client, services_)

    response = decide(client, services_)

    verify_jarm(client, services_, jarm_token(tenant, response, "form_post.jwt"))
    directives = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]
    assert "form-action https://tpp.example.test/cb" in directives
    assert 'action="https://tpp.example.test/cb?tenant=a1"' in response.get_data(as_text=True)


# -- login and consent pages -----------------------------------------------------------


@pytest.mark.parametrize("page", ["/login", "/consent"])
def test_login_and_consent_pages_cannot_be_framed(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str, page: str
) -> None:
    start(client, services_, tpp)
    if page == "/consent":
        login(client, services_)

    response = get(client, services_, page)

    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_consent_page_lets_its_post_be_redirected_to_the_client(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    """Chrome and WebKit apply form-action to each redirect after a form post: with
    'self' alone, the 303 from Approve/Deny to the redirect_uri would never arrive."""
    start(client, services_, tpp)
    login(client, services_)

    page = get(client, services_, "/consent")

    directives = [d.strip() for d in page.headers["Content-Security-Policy"].split(";")]
    assert "form-action 'self' https://tpp.example.test/cb" in directives
    assert "frame-ancestors 'none'" in directives
    assert "default-src 'self'" in directives


def test_wrong_password_shows_the_form_again_and_is_audited(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    start(client, services_, tpp)

    response = login(client, services_, password="wrong horse battery staple")

    assert response.status_code == 401
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert 'name="password"' in html
    assert csrf_token(html)
    failed = audit_events(app, "login.failed")
    assert [(e.actor, e.outcome) for e in failed] == [(f"user:{user}", "failure")]
    assert get(client, services_, "/consent").headers["Location"] == "/login"


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_login_without_a_valid_csrf_token_is_refused(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str, token: str | None
) -> None:
    start(client, services_, tpp)
    form = {"username": USERNAME, "password": PASSWORD, "submit": "Sign in"}
    if token is not None:
        form["csrf_token"] = token

    response = post(client, services_, "/login", form)

    assert response.status_code != 303
    assert "Location" not in response.headers
    assert audit_events(app, "login.succeeded") == []
    assert get(client, services_, "/consent").headers["Location"] == "/login"


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_consent_without_a_valid_csrf_token_is_refused(
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
    token: str | None,
) -> None:
    start(client, services_, tpp)
    login(client, services_)
    form = {"approve": "Approve"}
    if token is not None:
        form["csrf_token"] = token

    response = post(client, services_, "/consent", form)

    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "Location" not in response.headers
    # The pending authorization survives: the real form still completes it.
    assert decide(client, services_).status_code == 303


def test_consent_page_of_one_request_cannot_approve_another_pending_request(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, make_tpp: Any, user: str
) -> None:
    """The pending request can change under an open consent page (a second tab, or another
    site navigating the browser to /authorize, which SameSite=Lax cookies allow): Approve on
    the page the user read must never grant what another request asks."""
    attacker = make_tpp("tpp-two")
    start(client, services_, tpp)
    login(client, services_)
    shown = csrf_token(get(client, services_, "/consent").get_data(as_text=True))
    swapped = push(client, services_, attacker, scope="openid payments:write")
    get(client, services_, authorize_path(attacker.client_id, swapped.request_uri))

    response = post(client, services_, "/consent", {"csrf_token": shown, "approve": "Approve"})

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert audit_events(app, "consent.approved") == []
    assert audit_events(app, "code.issued") == []


def test_session_cookie_is_httponly_lax_secure_and_changes_at_login(
    client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    pushed = push(client, services_, tpp)
    before = session_cookie(
        get(client, services_, authorize_path(tpp.client_id, pushed.request_uri))
    )
    get(client, services_, "/login")

    after = session_cookie(login(client, services_))

    for line in (before, after):
        attributes = [part.strip().lower() for part in line.split(";")[1:]]
        assert "httponly" in attributes
        assert "secure" in attributes
        assert "samesite=lax" in attributes
    assert cookie_value(after) != cookie_value(before)


def test_each_login_starts_a_new_session_id(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, user: str
) -> None:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    start(client, services_, tpp)
    first = serializer.loads(cookie_value(session_cookie(login(client, services_))))
    start(client, services_, tpp)

    second = serializer.loads(cookie_value(session_cookie(login(client, services_))))

    assert first["uid"] == second["uid"] == user
    assert first["sid"] != second["sid"]
