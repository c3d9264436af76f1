"""Bulk revocation by client, user or consent: through the service, the admin API, the
TPP's consent withdrawal and the ``authserver revoke`` command.

A watermark revokes every token of its target with ``iat`` at or before it (whole
seconds), so a token that must outlive a revocation is issued after ``clock.advance(1)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from authserver.clock import FrozenClock
from authserver.consent.models import AUTH
from authserver.consent.models import CANC
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.revocation.models import RevocationWatermark
from authserver.scopes import ADMIN_REVOCATION
from authserver.scopes import ADMIN_SCOPES
from authserver.tokens.models import IssuedAccessToken
from authserver.tokens.revocation import RevocationTargetNotFoundError
from tests.cli.test_cli import run_cli
from tests.flow_fixtures import PASSWORD
from tests.flow_fixtures import FlaskTransport
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.lifecycle import client_credentials
from tests.lifecycle import client_credentials_token
from tests.lifecycle import code_flow_tokens
from tests.lifecycle import introspection
from tests.lifecycle import refresh
from tests.lifecycle import userinfo
from tests.par import par
from tests.par import register
from tests.revocation import admin_revoke
from tests.revocation import audit_events
from tests.revocation import claims_of
from tests.revocation import inactive_at_introspection
from tests.revocation import refused_at_userinfo
from tppkit import Browser
from tppkit import Tpp

Tokens = dict[str, Any]


@pytest.fixture
def alice(
    client: FlaskClient, browser: Browser, services_: Services, tpp: Tpp, user: str
) -> Tokens:
    """alice's token response from ``tpp`` (tpp-one)."""
    return code_flow_tokens(client, browser, services_, tpp)


@pytest.fixture
def other_tpp(make_tpp: Any) -> Tpp:
    tpp: Tpp = make_tpp("tpp-two")
    return tpp


@pytest.fixture
def ops(app: Flask, services_: Services) -> Tpp:
    """An operator client registered with the admin scope (and ordinary ones)."""
    return register(app, services_, "ops", scopes=["openid", "accounts:read", ADMIN_REVOCATION])


@pytest.fixture
def admin_token(client: FlaskClient, services_: Services, ops: Tpp) -> str:
    return client_credentials_token(client, services_, ops, scope=ADMIN_REVOCATION)


def consent_status(app: Flask, services_: Services, consent_id: str) -> str:
    with app.app_context():
        consent = experience(app).consents.get(consent_id)
        assert consent is not None
        return consent.status


def is_disabled(app: Flask, services_: Services, client_id: str) -> bool:
    with app.app_context():
        found = services_.clients.get(client_id)
        assert found is not None
        return found.disabled


def user_id_of(tokens: Tokens) -> str:
    return str(claims_of(tokens["access_token"])["sub"])


def consent_of(tokens: Tokens) -> str:
    return str(claims_of(tokens["access_token"])["consent_id"])


def assert_refresh_refused(
    client: FlaskClient, services_: Services, tpp: Tpp, tokens: Tokens
) -> None:
    response = refresh(client, services_, tpp, tokens["refresh_token"])
    assert_oauth_error(response, 400, "invalid_grant")


# -- through the service -----------------------------------------------------------------


def test_revoking_a_client_disables_it(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    assert client_credentials(client, services_, tpp).status_code == 200

    with app.app_context():
        services_.revocations.revoke_client(tpp.client_id, actor="test", reason="keys leaked")

    assert is_disabled(app, services_, tpp.client_id)
    assert_oauth_error(client_credentials(client, services_, tpp), 401, "invalid_client")


def test_revoking_a_client_ends_its_tokens_and_spares_another_clients(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    other_tpp: Tpp,
    rs: Tpp,
    alice: Tokens,
) -> None:
    machine = client_credentials_token(client, services_, tpp)
    others = code_flow_tokens(client, browser, services_, other_tpp)

    with app.app_context():
        result = services_.revocations.revoke_client(tpp.client_id, actor="test", reason="x")

    # Its refresh tokens end too (the disabled client could not present them anyway).
    assert result.refresh_tokens == 1
    refused_at_userinfo(client, services_, alice["access_token"])
    inactive_at_introspection(client, services_, rs, machine)
    assert userinfo(client, services_, others["access_token"]).status_code == 200
    assert refresh(client, services_, other_tpp, others["refresh_token"]).status_code == 200


def test_revoking_a_user_ends_all_their_tokens_at_every_client(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    other_tpp: Tpp,
    rs: Tpp,
    alice: Tokens,
) -> None:
    at_other = code_flow_tokens(client, browser, services_, other_tpp)
    machine = client_credentials_token(client, services_, tpp)

    with app.app_context():
        result = services_.revocations.revoke_user(user_id_of(alice), actor="test", reason="x")

    assert result.refresh_tokens == 2
    refused_at_userinfo(client, services_, alice["access_token"])
    refused_at_userinfo(client, services_, at_other["access_token"])
    assert_refresh_refused(client, services_, tpp, alice)
    assert_refresh_refused(client, services_, other_tpp, at_other)
    # The client's own token (sub = client_id) is no token of the user.
    assert introspection(client, services_, rs, machine)["active"] is True


def test_revoking_a_user_spares_another_users_tokens(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, alice: Tokens
) -> None:
    with app.app_context():
        experience(app).users.create("bob", PASSWORD, actor="test")
    # bob signs in from his own browser (cookie jar).
    bobs_client = app.test_client()
    bobs_browser = Browser(
        FlaskTransport(bobs_client, services_.settings.issuer), services_.settings.issuer
    )
    bob = code_flow_tokens(bobs_client, bobs_browser, services_, tpp, username="bob")

    with app.app_context():
        services_.revocations.revoke_user(user_id_of(alice), actor="test", reason="x")

    refused_at_userinfo(client, services_, alice["access_token"])
    assert userinfo(client, services_, bob["access_token"]).status_code == 200
    assert refresh(client, services_, tpp, bob["refresh_token"]).status_code == 200


def test_revoking_a_consent_ends_its_tokens_and_spares_the_users_other_consent(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    alice: Tokens,
) -> None:
    second = code_flow_tokens(client, browser, services_, tpp)
    assert consent_of(second) != consent_of(alice)

    with app.app_context():
        result = services_.revocations.revoke_consent(consent_of(alice), actor="test", reason="x")

    assert result.refresh_tokens == 1
    refused_at_userinfo(client, services_, alice["access_token"])
    assert_refresh_refused(client, services_, tpp, alice)
    assert consent_status(app, services_, consent_of(alice)) == CANC
    assert userinfo(client, services_, second["access_token"]).status_code == 200
    assert refresh(client, services_, tpp, second["refresh_token"]).status_code == 200
    assert consent_status(app, services_, consent_of(second)) == AUTH


def test_token_issued_a_second_after_a_user_revocation_lives(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    clock: FrozenClock,
    alice: Tokens,
) -> None:
    with app.app_context():
        services_.revocations.revoke_user(user_id_of(alice), actor="test", reason="x")
    clock.advance(1)

    fresh = code_flow_tokens(client, browser, services_, tpp)

    refused_at_userinfo(client, services_, alice["access_token"])
    assert userinfo(client, services_, fresh["access_token"]).status_code == 200


def test_token_issued_in_the_second_of_a_user_revocation_is_refused(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    alice: Tokens,
) -> None:
    """Deliberate: iat has whole seconds, so "at or before T" fails safe within T."""
    with app.app_context():
        services_.revocations.revoke_user(user_id_of(alice), actor="test", reason="x")

    same_second = code_flow_tokens(client, browser, services_, tpp)

    refused_at_userinfo(client, services_, same_second["access_token"])


@pytest.mark.parametrize("kind", ["client", "user", "consent"])
def test_unknown_target_is_refused_and_writes_nothing(
    app: Flask, services_: Services, kind: str
) -> None:
    method = getattr(services_.revocations, f"revoke_{kind}")
    with app.app_context():
        with pytest.raises(RevocationTargetNotFoundError):
            method("no-such-target", actor="test", reason="x")
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RevocationWatermark)) == 0


@pytest.mark.parametrize("kind", ["client", "user", "consent"])
def test_every_bulk_revocation_is_audited(
    app: Flask, services_: Services, tpp: Tpp, alice: Tokens, kind: str
) -> None:
    target = {"client": tpp.client_id, "user": user_id_of(alice), "consent": consent_of(alice)}[
        kind
    ]
    method = getattr(services_.revocations, f"revoke_{kind}")
    with app.app_context():
        result = method(target, actor="operator:test", reason="incident 42")

    events = audit_events(app, f"{kind}.tokens_revoked")
    assert events == [
        {
            "actor": "operator:test",
            "resource": f"{kind}:{target}",
            "changes": {
                "revoked_before": result.revoked_before,
                "reason": "incident 42",
                "refresh_tokens": 1,
            },
        }
    ]


# -- O(1) in access tokens -----------------------------------------------------------------


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs while the test body runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lower())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_user_revocation_writes_one_watermark_and_touches_no_access_token_row(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    other_tpp: Tpp,
    alice: Tokens,
    statements: list[str],
) -> None:
    rotated = refresh(client, services_, tpp, alice["refresh_token"]).get_json()
    at_other = code_flow_tokens(client, browser, services_, other_tpp)
    again = code_flow_tokens(client, browser, services_, tpp)
    access_tokens = [
        alice["access_token"],
        rotated["access_token"],
        at_other["access_token"],
        again["access_token"],
    ]
    user_id = user_id_of(alice)
    statements.clear()

    with app.app_context():
        services_.revocations.revoke_user(user_id, actor="test", reason="x")

    assert not [s for s in statements if "issued_access_tokens" in s], statements
    for token in access_tokens:
        refused_at_userinfo(client, services_, token)
    with app.app_context():
        watermarks = db.session.scalars(sa.select(RevocationWatermark)).all()
        assert [(w.kind, w.target) for w in watermarks] == [("user", user_id)]
        rows = db.session.scalars(
            sa.select(IssuedAccessToken).where(IssuedAccessToken.user_id == user_id)
        ).all()
        assert len(rows) == len(access_tokens)
        assert [row.revoked_at for row in rows] == [None] * len(rows)


# -- the admin API -------------------------------------------------------------------------


def test_admin_scope_is_an_operator_scope() -> None:
    assert ADMIN_REVOCATION == "authserver:revoke"
    assert ADMIN_REVOCATION in ADMIN_SCOPES


def test_operator_gets_the_admin_scope_through_client_credentials(
    client: FlaskClient, services_: Services, ops: Tpp
) -> None:
    response = client_credentials(client, services_, ops, scope=ADMIN_REVOCATION)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["scope"] == ADMIN_REVOCATION
    assert claims_of(response.get_json()["access_token"])["scope"] == ADMIN_REVOCATION


def test_authorization_request_for_the_admin_scope_is_invalid_scope(
    client: FlaskClient, services_: Services, ops: Tpp
) -> None:
    """Registered for the client, yet no user can grant it (never on a consent screen)."""
    params, _ = ops.authorization_params(scope=f"openid {ADMIN_REVOCATION}")

    assert_oauth_error(par(client, services_, ops, params), 400, "invalid_scope")


def test_admin_api_without_a_token_is_401(
    client: FlaskClient, services_: Services, tpp: Tpp
) -> None:
    response = admin_revoke(client, services_, None, {"client_id": tpp.client_id})

    assert response.status_code == 401
    assert "Bearer" in response.headers.getlist("WWW-Authenticate")
    assert not is_disabled(client.application, services_, tpp.client_id)


def test_admin_api_without_the_admin_scope_is_403_insufficient_scope(
    client: FlaskClient, services_: Services, ops: Tpp, tpp: Tpp
) -> None:
    token = client_credentials_token(client, services_, ops, scope="accounts:read")

    response = admin_revoke(client, services_, token, {"client_id": tpp.client_id})

    assert_oauth_error(response, 403, "insufficient_scope")
    assert 'Bearer error="insufficient_scope"' in response.headers.getlist("WWW-Authenticate")
    assert not is_disabled(client.application, services_, tpp.client_id)


@pytest.mark.parametrize("kind", ["client", "user", "consent"])
def test_admin_api_revokes_the_target(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    admin_token: str,
    clock: FrozenClock,
    alice: Tokens,
    kind: str,
) -> None:
    target = {"client": tpp.client_id, "user": user_id_of(alice), "consent": consent_of(alice)}[
        kind
    ]

    response = admin_revoke(client, services_, admin_token, {f"{kind}_id": target})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "kind": kind,
        "id": target,
        "revoked_before": int(clock.time()),
        "refresh_tokens_revoked": 1,
    }
    refused_at_userinfo(client, services_, alice["access_token"])
    assert [e["actor"] for e in audit_events(app, f"{kind}.tokens_revoked")] == ["client:ops"]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "x"}, {"client_id": "tpp-one", "user_id": "u"}, {"client_id": ""}],
    ids=["empty", "reason-only", "two-targets", "empty-target"],
)
def test_admin_api_needs_exactly_one_target(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    admin_token: str,
    body: dict[str, str],
) -> None:
    response = admin_revoke(client, services_, admin_token, body)

    assert_oauth_error(response, 400, "invalid_request")
    assert not is_disabled(app, services_, tpp.client_id)


@pytest.mark.parametrize("field", ["client_id", "user_id", "consent_id"])
def test_admin_api_unknown_target_is_404(
    app: Flask, client: FlaskClient, services_: Services, admin_token: str, field: str
) -> None:
    response = admin_revoke(client, services_, admin_token, {field: "no-such-target"})

    assert_oauth_error(response, 404, "not_found")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RevocationWatermark)) == 0


def admin_post_raw(
    client: FlaskClient, services_: Services, token: str, body: str, media: str
) -> Any:
    return client.post(
        "/admin/revocations",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": media},
        base_url=services_.settings.issuer,
    )


def test_admin_api_body_that_is_no_json_object_is_400_invalid_request(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, admin_token: str
) -> None:
    response = admin_post_raw(client, services_, admin_token, '["tpp-one"]', "application/json")

    assert_oauth_error(response, 400, "invalid_request")
    assert not is_disabled(app, services_, tpp.client_id)


def test_admin_api_body_that_is_not_json_is_415(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, admin_token: str
) -> None:
    form = "application/x-www-form-urlencoded"
    response = admin_post_raw(client, services_, admin_token, "client_id=tpp-one", form)

    assert_oauth_error(response, 415, "unsupported_media_type")
    assert not is_disabled(app, services_, tpp.client_id)


# -- the TPP withdraws a consent -----------------------------------------------------------


def withdraw(client: FlaskClient, services_: Services, token: str, consent_id: str) -> Any:
    return client.delete(
        f"/consents/{consent_id}",
        headers={"Authorization": f"Bearer {token}"},
        base_url=services_.settings.issuer,
    )


def test_tpp_withdraws_its_consent_and_its_tokens_die(
    app: Flask, client: FlaskClient, services_: Services, tpp: Tpp, alice: Tokens
) -> None:
    own = client_credentials_token(client, services_, tpp)

    response = withdraw(client, services_, own, consent_of(alice))

    assert response.status_code == 204
    assert response.get_data() == b""
    assert consent_status(app, services_, consent_of(alice)) == CANC
    refused_at_userinfo(client, services_, alice["access_token"])
    assert_refresh_refused(client, services_, tpp, alice)
    events = audit_events(app, "consent.tokens_revoked")
    assert [(e["actor"], e["resource"]) for e in events] == [
        ("client:tpp-one", f"consent:{consent_of(alice)}")
    ]


def test_another_clients_token_cannot_withdraw_a_consent(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    tpp: Tpp,
    other_tpp: Tpp,
    alice: Tokens,
) -> None:
    foreign = client_credentials_token(client, services_, other_tpp)

    response = withdraw(client, services_, foreign, consent_of(alice))

    assert_oauth_error(response, 404, "not_found")
    assert consent_status(app, services_, consent_of(alice)) == AUTH
    assert userinfo(client, services_, alice["access_token"]).status_code == 200
    assert audit_events(app, "consent.tokens_revoked") == []


def test_unknown_consent_is_404(client: FlaskClient, services_: Services, tpp: Tpp) -> None:
    own = client_credentials_token(client, services_, tpp)

    assert_oauth_error(withdraw(client, services_, own, "no-such-consent"), 404, "not_found")


# -- authserver revoke -----------------------------------------------------------------------


def restarted_app_refuses(make_settings: Any, clock: FrozenClock, token: str) -> None:
    """A process started after the command (it rebuilds its view from SQL when needed)."""
    with app_with(make_settings(), clock) as fresh:
        refused_at_userinfo(fresh.test_client(), services(fresh), token)


def test_cli_revokes_a_client_as_json(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    cli_env: dict[str, str],
    tpp: Tpp,
    alice: Tokens,
) -> None:
    result = run_cli(cli_env, "revoke", "--client", tpp.client_id, "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"kind", "id", "revoked_before", "refresh_tokens_revoked"}
    assert data["kind"] == "client"
    assert data["id"] == tpp.client_id
    assert data["revoked_before"] >= claims_of(alice["access_token"])["iat"]
    assert data["refresh_tokens_revoked"] == 1
    assert is_disabled(app, services_, tpp.client_id)
    assert_oauth_error(client_credentials(client, services_, tpp), 401, "invalid_client")
    events = audit_events(app, "client.tokens_revoked")
    assert [e["actor"].split(":")[0] for e in events] == ["operator"]


def test_cli_revocation_reaches_a_server_started_later(
    client: FlaskClient,
    services_: Services,
    make_settings: Any,
    clock: FrozenClock,
    cli_env: dict[str, str],
    tpp: Tpp,
    alice: Tokens,
) -> None:
    result = run_cli(cli_env, "revoke", "--client", tpp.client_id)

    assert result.returncode == 0, result.stderr
    restarted_app_refuses(make_settings, clock, alice["access_token"])


def test_cli_revocation_reaches_the_running_server(
    client: FlaskClient, services_: Services, cli_env: dict[str, str], tpp: Tpp, alice: Tokens
) -> None:
    assert userinfo(client, services_, alice["access_token"]).status_code == 200

    result = run_cli(cli_env, "revoke", "--client", tpp.client_id)

    assert result.returncode == 0, result.stderr
    refused_at_userinfo(client, services_, alice["access_token"])


def test_cli_revokes_a_user_by_username(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    make_settings: Any,
    clock: FrozenClock,
    cli_env: dict[str, str],
    tpp: Tpp,
    alice: Tokens,
) -> None:
    user_id = user_id_of(alice)

    result = run_cli(cli_env, "revoke", "--user", "alice", "--reason", "account closed")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"revoked every token of user {user_id} issued at or before ")
    assert result.stdout.endswith(" (1 refresh tokens)\n")
    assert_refresh_refused(client, services_, tpp, alice)
    restarted_app_refuses(make_settings, clock, alice["access_token"])
    events = audit_events(app, "user.tokens_revoked")
    assert [(e["resource"], e["changes"]["reason"]) for e in events] == [
        (f"user:{user_id}", "account closed")
    ]


def test_cli_revokes_a_consent(
    app: Flask, services_: Services, cli_env: dict[str, str], alice: Tokens
) -> None:
    result = run_cli(cli_env, "revoke", "--consent", consent_of(alice), "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "consent"
    assert consent_status(app, services_, consent_of(alice)) == CANC
    assert len(audit_events(app, "consent.tokens_revoked")) == 1


@pytest.mark.parametrize(
    ("option", "noun"), [("--client", "client"), ("--user", "user"), ("--consent", "consent")]
)
def test_cli_unknown_target_exits_1_with_a_clear_message(
    app: Flask, cli_env: dict[str, str], option: str, noun: str
) -> None:
    result = run_cli(cli_env, "revoke", option, "nobody")

    assert result.returncode == 1
    assert result.stdout == ""
    assert f"Error: no {noun} " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert audit_events(app, f"{noun}.tokens_revoked") == []


def test_cli_unknown_target_message_quotes_the_target(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "revoke", "--client", "nobody")

    assert result.stderr == "Error: no client 'nobody'\n"


@pytest.mark.parametrize(
    "args",
    [(), ("--client", "tpp-one", "--user", "alice"), ("--reason", "x")],
    ids=["none", "two", "reason-only"],
)
def test_cli_needs_exactly_one_target_exits_2(
    app: Flask, services_: Services, cli_env: dict[str, str], tpp: Tpp, args: tuple[str, ...]
) -> None:
    result = run_cli(cli_env, "revoke", *args)

    # cli.main catches the UsageError (a ClickException) and exits with its code, 2.
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Usage: " in result.stderr
    assert "Error: give exactly one of --client, --user or --consent" in result.stderr
    assert not is_disabled(app, services_, tpp.client_id)
