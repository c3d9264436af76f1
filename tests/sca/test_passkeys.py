"""WebAuthn passkeys through the real pages and the real ``webauthn`` checks, with a
software authenticator (a real P-256 key): enrolment, the login step, and each refusal
the issue names — a wrong origin, a stale or reused challenge, a lowered sign counter."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from authserver.audit.models import AuditEvent
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.db import db
from authserver.sca.passkey_models import Passkey
from authserver.sca.passkeys import CHALLENGE_TTL
from tests.par import login
from tests.par import page
from tests.par import post_form
from tests.sca.authenticator import SoftAuthenticator
from tests.sca.authenticator import page_options
from tppkit import csrf_token

RP_ID = "as.example.test"
ORIGIN = "https://as.example.test"


def enrol(client: FlaskClient, svc: Services, authenticator: SoftAuthenticator) -> TestResponse:
    """Signed in: open /account/passkeys, answer its challenge, post the form."""
    shown = page(client, svc, "/account/passkeys")
    assert shown.status_code == 200, shown.get_data(as_text=True)
    html = shown.get_data(as_text=True)
    answer = authenticator.create(page_options(html))
    form = {"csrf_token": csrf_token(html), "credential": answer, "name": "Laptop"}
    return post_form(client, svc, "/account/passkeys", form)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(RP_ID, ORIGIN)


@pytest.fixture
def enrolled(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    user: str,
    authenticator: SoftAuthenticator,
) -> SoftAuthenticator:
    """``user`` has one passkey, enrolled through the page (tests sign in on a fresh client)."""
    assert login(client, services_).status_code == 303
    added = enrol(client, services_, authenticator)
    assert added.status_code == 200, added.get_data(as_text=True)
    assert "Your passkey was added." in added.get_data(as_text=True)
    return authenticator


def fresh_client(app: Flask) -> FlaskClient:
    return app.test_client()


def passkey_page(client: FlaskClient, svc: Services) -> tuple[str, dict[str, Any]]:
    """Password first: the login sends a passkey user to /login/passkey; its page."""
    signed_in = login(client, svc)
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"].endswith("/login/passkey")
    shown = page(client, svc, "/login/passkey")
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    return html, page_options(html)


def answer_page(client: FlaskClient, svc: Services, html: str, answer: str) -> TestResponse:
    form = {"csrf_token": csrf_token(html), "credential": answer}
    return post_form(client, svc, "/login/passkey", form)


def failures(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "passkey.failed")
        ).all()
        return [str((row.changes or {}).get("reason", "")) for row in rows]


def test_enrolment_stores_the_public_key_and_the_next_login_asks_for_the_passkey(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    with app.app_context():
        keys = db.session.scalars(select(Passkey)).all()
        assert [key.name for key in keys] == ["Laptop"]
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    assert options["rpId"] == RP_ID
    assert options["allowCredentials"][0]["id"] == keys[0].credential_id
    assert 'data-ceremony="get"' in html
    assert "<script src=" in html
    assert "passkey.js" in html
    # No one is signed in between the password and the passkey.
    assert page(client, services_, "/account/passkeys").status_code == 303
    done = answer_page(client, services_, html, enrolled.get(options))
    assert done.status_code == 303, done.get_data(as_text=True)
    assert done.headers["Location"].endswith("/login/done")
    assert "You are signed in" in page(client, services_, "/login/done").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Passkey.sign_count)).one() == enrolled.sign_count


def test_an_assertion_for_another_origin_is_refused(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    refused = answer_page(
        client, services_, html, enrolled.get(options, origin="https://phish.example")
    )
    assert refused.status_code == 401
    assert "That passkey was not accepted." in refused.get_data(as_text=True)
    assert "not signed in" in page(client, services_, "/login/done").get_data(as_text=True)
    assert any("origin" in reason for reason in failures(app))


def test_an_assertion_for_another_rp_id_is_refused(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    refused = answer_page(client, services_, html, enrolled.get(options, rp_id="phish.example"))
    assert refused.status_code == 401


def test_a_reused_challenge_is_refused(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    first = enrolled.get(options)
    assert answer_page(client, services_, html, first).status_code == 303
    # The same answer again, from a second half-signed-in browser: the challenge is spent.
    other = fresh_client(app)
    other_html, _ = passkey_page(other, services_)
    replayed = answer_page(other, services_, other_html, first)
    assert replayed.status_code == 401
    # A fresh signature over the spent challenge (a higher counter) is refused too.
    again = answer_page(other, services_, other_html, enrolled.get(options))
    assert again.status_code == 401
    assert sum("already used" in reason for reason in failures(app)) == 2


def test_a_stale_challenge_is_refused(
    app: Flask, services_: Services, clock: FrozenClock, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    clock.advance(timedelta(seconds=CHALLENGE_TTL + 1))
    refused = answer_page(client, services_, html, enrolled.get(options))
    assert refused.status_code == 401
    reasons = failures(app)
    assert reasons
    assert "stale" in reasons[-1] or "already used" in reasons[-1]


def test_a_lowered_sign_counter_is_refused_as_a_clone(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    html, options = passkey_page(client, services_)
    assert answer_page(client, services_, html, enrolled.get(options, count=10)).status_code == 303
    clone = fresh_client(app)
    clone_html, clone_options = passkey_page(clone, services_)
    refused = answer_page(clone, services_, clone_html, enrolled.get(clone_options, count=7))
    assert refused.status_code == 401
    assert any("sign count" in reason for reason in failures(app))
    with app.app_context():
        assert db.session.scalars(select(Passkey.sign_count)).one() == 10


@pytest.mark.parametrize(
    "answer",
    ["not json", "[]", '{"response": {}}', '{"response": {"clientDataJSON": "%%%"}}', "{}"],
)
def test_a_malformed_answer_is_a_clear_401_never_a_500(
    app: Flask, services_: Services, enrolled: SoftAuthenticator, answer: str
) -> None:
    client = fresh_client(app)
    html, _options = passkey_page(client, services_)
    assert answer_page(client, services_, html, answer).status_code == 401


def test_the_answer_needs_the_forms_csrf_token(
    app: Flask, services_: Services, enrolled: SoftAuthenticator
) -> None:
    client = fresh_client(app)
    _html, options = passkey_page(client, services_)
    forged = post_form(client, services_, "/login/passkey", {"credential": enrolled.get(options)})
    assert forged.status_code == 401
    assert "not signed in" in page(client, services_, "/login/done").get_data(as_text=True)


def test_the_passkey_page_needs_the_password_first(app: Flask, services_: Services) -> None:
    client = fresh_client(app)
    assert page(client, services_, "/login/passkey").status_code == 303


def test_a_registration_for_another_origin_is_refused(
    app: Flask, client: FlaskClient, services_: Services, user: str
) -> None:
    assert login(client, services_).status_code == 303
    shown = page(client, services_, "/account/passkeys").get_data(as_text=True)
    answer = SoftAuthenticator(RP_ID, ORIGIN).create(
        page_options(shown), origin="https://phish.example"
    )
    form = {"csrf_token": csrf_token(shown), "credential": answer, "name": "x"}
    refused = post_form(client, services_, "/account/passkeys", form)
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Passkey)).all() == []


def test_a_passkey_can_be_removed(
    app: Flask, client: FlaskClient, services_: Services, user: str
) -> None:
    assert login(client, services_).status_code == 303
    assert enrol(client, services_, SoftAuthenticator(RP_ID, ORIGIN)).status_code == 200
    with app.app_context():
        passkey_id = db.session.scalars(select(Passkey.id)).one()
    shown = page(client, services_, "/account/passkeys").get_data(as_text=True)
    form = {"csrf_token": csrf_token(shown), "passkey_id": passkey_id}
    assert post_form(client, services_, "/account/passkeys/remove", form).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Passkey)).all() == []
