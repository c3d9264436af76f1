"""The per-process client cache (issue 15): a changed registration is forgotten in this
process at once and in every other process through the store's ``clients`` channel."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from authserver.clients.models import Client
from authserver.clock import FrozenClock
from authserver.context import Services
from authserver.context import services
from authserver.db import db
from authserver.settings import Settings
from tests.conftest import TEST_REDIS_URL
from tests.helpers import app_with
from tests.helpers import assert_oauth_error
from tests.lifecycle import client_credentials
from tppkit import Tpp


def _disable(app: Flask, svc: Services, client_id: str) -> None:
    with app.app_context():
        svc.revocations.revoke_client(client_id, actor="test", reason="test")


def test_a_disabled_client_is_refused_at_once_by_the_same_process(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    tpp = make_tpp(grant_types=["client_credentials"])
    assert services_.client_cache.wait_until_listening(timeout=10)
    assert client_credentials(client, services_, tpp).status_code == 200  # now cached
    _disable(app, services_, tpp.client_id)
    assert_oauth_error(client_credentials(client, services_, tpp), 401, "invalid_client")


def test_a_listener_that_stopped_forgets_what_it_cached(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    """While nobody listens, announcements are lost: the cache is not trusted, and a
    restarted listener starts empty, so a change made meanwhile is read from SQL."""
    tpp = make_tpp(grant_types=["client_credentials"])
    assert services_.client_cache.wait_until_listening(timeout=10)
    assert client_credentials(client, services_, tpp).status_code == 200  # now cached
    services_.client_cache.close()
    assert not services_.client_cache.listening
    with app.app_context():
        # Behind the cache's back: no announcement, only SQL knows.
        db.session.execute(
            update(Client).where(Client.client_id == tpp.client_id).values(disabled=True)
        )
        db.session.commit()
    assert_oauth_error(client_credentials(client, services_, tpp), 401, "invalid_client")


@pytest.mark.skipif(
    TEST_REDIS_URL is None,
    reason="needs AUTHSERVER_TEST_REDIS_URL: only Redis carries announcements between apps",
)
def test_a_client_disabled_through_one_app_is_refused_by_another_within_a_second(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    make_tpp: Any,
    make_settings: Any,
    clock: FrozenClock,
) -> None:
    """Two apps on one database and one Redis, as two processes are: the second caches the
    client (for an hour, so only the announcement can end it) and must still refuse it."""
    tpp: Tpp = make_tpp(grant_types=["client_credentials"])
    settings: Settings = make_settings(oauth={"client_cache_seconds": 3600})
    with app_with(settings, clock) as other:
        other_svc = services(other)
        other_client = other.test_client()
        assert other_svc.client_cache.wait_until_listening(timeout=10)
        assert client_credentials(other_client, other_svc, tpp).status_code == 200
        _disable(app, services_, tpp.client_id)
        disabled_at = time.monotonic()
        # Poll with a generous deadline; the elapsed time is reported, not raced.
        deadline = disabled_at + 30
        while client_credentials(other_client, other_svc, tpp).status_code == 200:
            assert time.monotonic() < deadline, "the other app never heard of the change"
        elapsed = time.monotonic() - disabled_at
    assert elapsed < 1.0, f"refused only after {elapsed:.2f} s"
