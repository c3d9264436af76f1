"""Browser edges: the start page, sign-out (CSRF-protected POST) and HTML 404/405 pages."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from authserver.experience import experience
from conformance.tpp import csrf_token
from tests.helpers import assert_oauth_error

USERNAME = "carol"
PASSWORD = "pages test password 42"  # test-only
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def sign_in(app: Flask, client: FlaskClient) -> None:
    # Its own short app context: one kept open for the test would share `g` (and with
    # it Flask-WTF's cached CSRF token) across requests, unlike a real server.
    with app.app_context():
        experience(app).users.create(USERNAME, PASSWORD, actor="test")
    page = client.get("/login")
    form = {"csrf_token": csrf_token(page.text), "username": USERNAME, "password": PASSWORD}
    assert client.post("/login", data=form).status_code == 303


def test_start_page_says_what_this_is_and_offers_sign_in(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "sign-in service" in response.text
    assert 'href="/account/consents"' in response.text
    assert 'href="/login"' in response.text
    assert "Sign out" not in response.text


def test_sign_out_ends_the_session(app: Flask, client: FlaskClient) -> None:
    sign_in(app, client)
    start = client.get("/")
    assert "Sign out" in start.text
    assert client.get("/account/consents").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(start.text)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert 'href="/login"' in client.get("/").text
    dashboard = client.get("/account/consents")
    assert dashboard.status_code == 303
    assert dashboard.headers["Location"].endswith("/login")


def test_sign_out_without_csrf_token_is_refused_and_keeps_the_session(
    app: Flask, client: FlaskClient
) -> None:
    sign_in(app, client)
    response = client.post("/logout", data={})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "<code>invalid_request</code>" in response.text
    assert client.get("/account/consents").status_code == 200


def test_get_logout_is_an_html_405(client: FlaskClient) -> None:
    response = client.get("/logout", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "<code>method_not_allowed</code>" in response.text


def test_unknown_path_is_an_html_404_for_a_browser(client: FlaskClient) -> None:
    response = client.get("/no/such/page", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<code>not_found</code>" in response.text


def test_unknown_path_stays_json_for_api_clients(client: FlaskClient) -> None:
    for accept in ("*/*", "application/json"):
        response = client.get("/no/such/page", headers={"Accept": accept})
        assert_oauth_error(response, 404, "not_found")
