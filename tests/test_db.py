"""The session lifecycle of ``authserver/db.py``: no pre-ping, one retry on a dead connection."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.pool import NullPool

from authserver.context import Services
from authserver.db import db
from tests.conftest import TEST_DATABASE_URL
from tests.lifecycle import client_credentials

_OTHERS = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def _terminate_every_other_connection(url: str) -> None:
    """What a server restart or failover does to the pool: every pooled connection dies."""
    engine = sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        killed = connection.execute(sa.text(f"SELECT pg_terminate_backend(pid) {_OTHERS}")).all()
        assert killed, "the app held no pooled connection to terminate"
        deadline = time.monotonic() + 30
        while connection.execute(sa.text(f"SELECT count(*) {_OTHERS}")).scalar_one():
            assert time.monotonic() < deadline, "terminated backends did not go away"
            time.sleep(0.05)
    engine.dispose()


def test_the_pool_does_not_ping_on_checkout(app: Flask) -> None:
    with app.app_context():
        assert db.engine.pool._pre_ping is False


@pytest.mark.skipif(
    TEST_DATABASE_URL is None, reason="needs AUTHSERVER_TEST_DATABASE_URL: PostgreSQL only"
)
@pytest.mark.parametrize("cached_client", [True, False], ids=["insert-first", "select-first"])
def test_a_token_request_survives_a_terminated_pooled_connection(
    app: Flask,
    client: FlaskClient,
    services_: Services,
    make_tpp: Any,
    cached_client: bool,
) -> None:
    """The first statement of the transaction (the ledger INSERT with a cached client,
    the client SELECT without) meets the dead connection; it is replaced and run again."""
    tpp = make_tpp(grant_types=["client_credentials"])
    if cached_client:
        assert services_.client_cache.wait_until_listening(timeout=10)
    assert client_credentials(client, services_, tpp).status_code == 200
    if not cached_client:
        services_.client_cache.drop(tpp.client_id)
    _terminate_every_other_connection(services_.settings.sqlalchemy_url)
    response = client_credentials(client, services_, tpp)
    assert response.status_code == 200, response.get_data(as_text=True)
