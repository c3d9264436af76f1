"""How many SQL statements one token request costs (issue 15: one lean transaction).

Counted with a ``before_cursor_execute`` listener on the app's engine, plus the engine's
COMMITs; statements on ``audit_events`` and the audit lock (``pg_advisory_xact_lock``)
are left out, because the audit trail's own cost is another package's (its row is
staged in the same unit of work and adds exactly one INSERT once the unchained append
lands). The client registration comes from the per-process cache, so each scenario
warms it with one request first.

Expected totals per request, audit included, once the audit INSERT is a single
statement: client_credentials (with or without DPoP) 1 INSERT ledger + 1 INSERT audit
+ COMMIT; code exchange SELECT consent + INSERT refresh + INSERT ledger + INSERT audit
+ COMMIT; refresh SELECT refresh + UPDATE claim + INSERT refresh + INSERT ledger +
INSERT audit + COMMIT; introspection of an access token: nothing at all. (psycopg adds
its implicit BEGIN to each transaction.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from authserver.context import Services
from authserver.db import db
from tests.lifecycle import client_credentials
from tests.lifecycle import code_flow_tokens
from tests.lifecycle import introspection
from tests.lifecycle import refresh
from tests.par import finish
from tests.par import push
from tests.par import redeem
from tppkit import Browser
from tppkit import Tpp
from tppkit import generate_key

_AUDIT_MARKERS = ("audit_events", "pg_advisory_xact_lock")


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def ours(self) -> list[str]:
        """Each statement outside the audit trail as verb and table ("INSERT clients")."""
        kept = [s for s in self.statements if not any(m in s for m in _AUDIT_MARKERS)]
        return [_shape(statement) for statement in kept]


def _shape(statement: str) -> str:
    words = statement.split()
    verb = words[0].upper()
    if verb == "INSERT":
        return f"INSERT {words[2].strip(chr(34))}"
    if verb == "UPDATE":
        return f"UPDATE {words[1].strip(chr(34))}"
    table = next((words[i + 1] for i, w in enumerate(words) if w.upper() == "FROM"), "?")
    return f"{verb} {table.strip(chr(34))}"


@contextmanager
def counting(app: Flask) -> Iterator[Counted]:
    with app.app_context():
        engine = db.engine
    counted = Counted()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counted.statements.append(statement)

    def on_commit(_conn: Any) -> None:
        counted.commits += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def _warm(client: FlaskClient, svc: Services, tpp: Tpp) -> None:
    """The cache's listener up (it forgets everything when it subscribes), then one request
    fills the cache."""
    assert svc.client_cache.wait_until_listening(timeout=10)
    assert client_credentials(client, svc, tpp).status_code == 200


def test_client_credentials_is_one_insert_and_one_commit(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    tpp = make_tpp(grant_types=["client_credentials"])
    _warm(client, services_, tpp)
    with counting(app) as counted:
        assert client_credentials(client, services_, tpp).status_code == 200
    assert counted.ours == ["INSERT issued_access_tokens"]
    assert counted.commits == 1


def test_client_credentials_with_dpop_is_one_insert_and_one_commit(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any
) -> None:
    tpp = make_tpp(grant_types=["client_credentials"])
    _warm(client, services_, tpp)
    with counting(app) as counted:
        response = client_credentials(client, services_, tpp, dpop_key=generate_key("ES256"))
    assert response.status_code == 200
    assert response.get_json()["token_type"] == "DPoP"
    assert counted.ours == ["INSERT issued_access_tokens"]
    assert counted.commits == 1


def test_code_exchange_reads_the_consent_and_writes_two_rows_in_one_commit(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
) -> None:
    _warm(client, services_, tpp)
    flow = finish(browser, tpp, push(client, services_, tpp))
    with counting(app) as counted:
        response = redeem(client, services_, tpp, flow)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert sorted(counted.ours) == sorted(
        ["SELECT consents", "INSERT refresh_tokens", "INSERT issued_access_tokens"]
    )
    assert counted.commits == 1


def test_refresh_is_one_read_one_claim_two_inserts_and_one_commit(
    app: Flask,
    client: FlaskClient,
    browser: Browser,
    services_: Services,
    tpp: Tpp,
    user: str,
) -> None:
    first = code_flow_tokens(client, browser, services_, tpp)
    with counting(app) as counted:
        response = refresh(client, services_, tpp, first["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert sorted(counted.ours) == sorted(
        [
            "SELECT refresh_tokens",
            "SELECT consents",
            "UPDATE refresh_tokens",
            "INSERT refresh_tokens",
            "INSERT issued_access_tokens",
        ]
    )
    assert counted.commits == 1


def test_introspecting_an_access_token_touches_no_table(
    app: Flask, client: FlaskClient, services_: Services, make_tpp: Any, rs: Tpp
) -> None:
    tpp = make_tpp(grant_types=["client_credentials"])
    response = client_credentials(client, services_, tpp)
    token = response.get_json()["access_token"]
    assert introspection(client, services_, rs, token)["active"] is True  # warms the caches
    assert services_.client_cache.wait_until_listening(timeout=10)
    assert services_.revocation_view.wait_until_healthy(timeout=10)
    with counting(app) as counted:
        assert introspection(client, services_, rs, token)["active"] is True
    assert counted.ours == []
    assert counted.commits == 0
