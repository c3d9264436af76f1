"""The accounts endpoints outside one test app: the standalone resource server serves
them only with the account-data key, and a withdrawn consent's token is refused by
every ``authserver run`` process within a second (Redis runs only)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from authserver import create_app
from authserver.accounts.sql import SqlAccountProvider
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.experience import experience
from authserver.openbanking.envelope import AISP_PREFIX
from authserver.resources.context import resource_services
from authserver.rs import create_resource_app
from authserver.settings import Settings
from authserver.settings import load_resource_server_settings
from authserver.tokens.access_token import TokenSubject
from tests.accounts.data import make_account
from tests.accounts.kit import authorised_consent
from tests.conftest import TEST_REDIS_URL
from tests.revocation.test_propagation import PROPAGATION_SECONDS
from tests.revocation.test_propagation import http
from tests.revocation.test_propagation import resource_servers
from tppkit import PrivateKey
from tppkit import Tpp
from tppkit import dpop_proof
from tppkit import generate_key

# TEST-ONLY account-data key (base64url of 32 bytes).
ACCOUNT_DATA_SECRET = "dGVzdC1vbmx5LWFjY291bnQtZGF0YS1rZXktMzJiISE"
ACCOUNTS = AISP_PREFIX + "/accounts"
NUMBER = "40123456781234"


def resource_app(make_settings: Callable[..., Settings], tmp_path: Path, **extra: str) -> Flask:
    values = make_settings().model_dump()
    values.update(env="production", master_key=None, instance_path=tmp_path, **extra)
    return create_resource_app(load_resource_server_settings(**values))


def close(app: Flask) -> None:
    resource_services(app).revocation_view.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_standalone_rs_without_the_account_data_key_serves_no_accounts(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    app = resource_app(make_settings, tmp_path)
    try:
        assert resource_services(app).accounts is None
        for path in (ACCOUNTS, ACCOUNTS + "/acc-1/transactions", AISP_PREFIX + "/balances"):
            assert app.test_client().get(path).status_code == 404, path
    finally:
        close(app)


def test_standalone_rs_with_the_key_opens_what_the_as_sealed(
    make_settings: Callable[..., Settings], tmp_path: Path, clock: FrozenClock
) -> None:
    authorization_server = create_app(
        make_settings(account_data_secret=ACCOUNT_DATA_SECRET), clock=clock
    )
    try:
        with authorization_server.app_context():
            sealing = experience(authorization_server).accounts
            assert isinstance(sealing, SqlAccountProvider)
            users = experience(authorization_server).users
            user_id = users.create("carol", "pw-test-only", actor="t").user.id
            made = make_account(sealing, user_id, "acc-1", NUMBER, clock.now())
            db.session.commit()
    finally:
        services(authorization_server).revocation_view.close()
        with authorization_server.app_context():
            db.session.remove()
            db.engine.dispose()
    app = resource_app(make_settings, tmp_path, account_data_secret=ACCOUNT_DATA_SECRET)
    try:
        provider = resource_services(app).accounts
        assert provider is not None
        with app.app_context():
            assert provider.accounts(user_id, ["acc-1"]) == [made]
        # Served (the guard answers), not missing.
        assert app.test_client().get(ACCOUNTS).status_code == 401
    finally:
        close(app)


# -- two processes sharing PostgreSQL and Redis --------------------------------------------


def accounts_status(base: str, token: str, key: PrivateKey, issuer: str) -> int:
    """GET /accounts on ``base`` with a fresh proof (the servers run on the real clock)."""
    proof = dpop_proof(key, "GET", issuer + ACCOUNTS, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    return http(urllib.request.Request(base + ACCOUNTS, headers=headers))[0]  # noqa: S310


@pytest.mark.subprocess
@pytest.mark.skipif(
    TEST_REDIS_URL is None,
    reason="needs AUTHSERVER_TEST_REDIS_URL: processes share revocations only through Redis",
)
def test_withdrawal_is_refused_by_two_processes_within_a_second(
    app: Flask, svc: Services, tpp: Tpp, user: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    provider = experience(app).accounts
    assert isinstance(provider, SqlAccountProvider)
    make_account(provider, user, "acc-1", NUMBER, svc.clock.now())
    db.session.commit()
    consent_id = authorised_consent(app, tpp.client_id, user, selected=["acc-1"])
    key = generate_key("ES256")
    svc.keys.ensure_keys()  # before any server starts, so no two processes race to
    client = svc.clients.get(tpp.client_id)
    assert client is not None
    subject = TokenSubject(
        sub=user,
        scopes=("accounts:read",),
        user_id=user,
        consent_id=consent_id,
        dpop_jkt=str(key.thumbprint()),
    )
    token = str(svc.tokens.issue(client, subject)["access_token"])
    db.session.commit()
    issuer = svc.settings.issuer

    with resource_servers(cli_env, [tmp_path / "a.log", tmp_path / "b.log"]) as bases:
        assert [accounts_status(base, token, key, issuer) for base in bases] == [200, 200]

        svc.revocations.revoke_consent(consent_id, actor="user:test", reason="withdrawn")
        db.session.commit()

        deadline = time.monotonic() + PROPAGATION_SECONDS
        statuses = {base: 200 for base in bases}
        while True:
            statuses = {
                base: status if status == 401 else accounts_status(base, token, key, issuer)
                for base, status in statuses.items()
            }
            if set(statuses.values()) == {401} or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        assert list(statuses.values()) == [401, 401]
