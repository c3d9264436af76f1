"""The audit trail (OPS-1): a hash chain that triggers keep append-only and verify() checks."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from authserver.audit.models import AuditEvent
from authserver.audit.service import GENESIS
from authserver.audit.service import ChainReport
from authserver.context import Services
from authserver.db import db


def record_events(svc: Services, count: int) -> list[int]:
    ids = [
        svc.audit.record(
            "client.created",
            actor="operator:test",
            resource=f"client:tpp-{n}",
            changes={"scopes": ["accounts:read"], "n": n},
        ).id
        for n in range(1, count + 1)
    ]
    # Reading .id after the commit reloaded the row in a new transaction; end it as a
    # request's teardown would, so raw statements below (TRUNCATE) do not wait on it.
    db.session.close()
    return ids


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def bypass_guards(connection: Connection, action: str) -> None:
    """Get past the append-only guard the way a database superuser could."""
    if is_postgresql():
        # Replica mode skips ordinary triggers; LOCAL keeps it to this transaction.
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
    else:
        connection.execute(sa.text(f"DROP TRIGGER audit_events_no_{action}"))


def test_verify_reports_ok_on_an_empty_trail(svc: Services) -> None:
    assert svc.audit.verify() == ChainReport(ok=True, checked=0)


def test_recorded_events_form_an_intact_chain(svc: Services) -> None:
    ids = record_events(svc, 3)

    assert ids == [1, 2, 3]
    assert svc.audit.verify() == ChainReport(ok=True, checked=3)
    rows = list(svc.audit.iter_events())
    assert rows[0].prev_hash == GENESIS
    for earlier, later in zip(rows, rows[1:], strict=False):
        assert later.prev_hash == earlier.hash
    assert len({row.hash for row in rows}) == 3


def test_record_stores_the_event_fields(svc: Services) -> None:
    svc.audit.record(
        "keys.rotated",
        actor="operator:ops",
        resource="signing_keys",
        outcome="failure",
        changes={"reason": "test"},
        request_id="req-123",
    )

    (row,) = svc.audit.iter_events()
    assert (row.event_type, row.actor, row.resource, row.outcome, row.request_id) == (
        "keys.rotated",
        "operator:ops",
        "signing_keys",
        "failure",
        "req-123",
    )
    assert row.changes == {"reason": "test"}
    assert row.timestamp == svc.clock.now()


def test_update_through_the_orm_is_refused(svc: Services) -> None:
    record_events(svc, 2)
    row = db.session.get(AuditEvent, 1)
    assert row is not None
    row.actor = "operator:mallory"

    with pytest.raises(DBAPIError) as excinfo:
        db.session.commit()
    db.session.rollback()

    assert "append-only" in str(excinfo.value)
    assert svc.audit.verify() == ChainReport(ok=True, checked=2)


def test_delete_through_the_orm_is_refused(svc: Services) -> None:
    record_events(svc, 2)
    row = db.session.get(AuditEvent, 2)
    assert row is not None
    db.session.delete(row)

    with pytest.raises(DBAPIError) as excinfo:
        db.session.commit()
    db.session.rollback()

    assert "append-only" in str(excinfo.value)
    assert svc.audit.verify() == ChainReport(ok=True, checked=2)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'operator:mallory' WHERE id = 1",
        "UPDATE audit_events SET hash = prev_hash",
        "DELETE FROM audit_events WHERE id = 1",
        "DELETE FROM audit_events",
    ],
)
def test_raw_sql_changes_are_refused(svc: Services, statement: str) -> None:
    record_events(svc, 2)

    with pytest.raises(DBAPIError) as excinfo, db.engine.begin() as connection:
        connection.execute(sa.text(statement))

    assert "append-only" in str(excinfo.value)
    assert svc.audit.verify() == ChainReport(ok=True, checked=2)


def test_truncate_is_refused_on_postgresql(svc: Services) -> None:
    record_events(svc, 1)
    # SQLite has no TRUNCATE; its equivalent (DELETE without WHERE) is covered above.
    statement = "TRUNCATE audit_events" if is_postgresql() else "DELETE FROM audit_events"

    with pytest.raises(DBAPIError) as excinfo, db.engine.begin() as connection:
        connection.execute(sa.text(statement))

    assert "append-only" in str(excinfo.value)
    assert svc.audit.verify().checked == 1


def test_verify_names_a_row_altered_behind_the_triggers(svc: Services) -> None:
    record_events(svc, 3)

    with db.engine.begin() as connection:
        bypass_guards(connection, "update")
        connection.execute(
            sa.text("UPDATE audit_events SET actor = 'operator:mallory' WHERE id = 2")
        )

    report = svc.audit.verify()
    assert report.ok is False
    assert report.broken_id == 2
    assert report.checked == 1
    assert report.reason == "row content does not match its hash"


def test_verify_catches_a_row_rewritten_with_a_fresh_hash(svc: Services) -> None:
    record_events(svc, 3)

    with db.engine.begin() as connection:
        bypass_guards(connection, "update")
        # The forger recomputes nothing correctly downstream: the next link breaks.
        connection.execute(
            sa.text("UPDATE audit_events SET hash = :forged WHERE id = 2"), {"forged": "f" * 64}
        )

    report = svc.audit.verify()
    assert report.ok is False
    assert report.broken_id == 2


def test_verify_names_the_gap_left_by_a_deleted_middle_row(svc: Services) -> None:
    record_events(svc, 3)

    with db.engine.begin() as connection:
        bypass_guards(connection, "delete")
        connection.execute(sa.text("DELETE FROM audit_events WHERE id = 2"))

    report = svc.audit.verify()
    assert report.ok is False
    assert report.broken_id == 3
    assert report.checked == 1
    assert report.reason == "row 2 is missing"


def test_verify_notices_a_deleted_first_row(svc: Services) -> None:
    record_events(svc, 2)

    with db.engine.begin() as connection:
        bypass_guards(connection, "delete")
        connection.execute(sa.text("DELETE FROM audit_events WHERE id = 1"))

    report = svc.audit.verify()
    assert report.ok is False
    assert report.broken_id == 2


def test_secrets_and_pii_in_changes_are_masked_before_storage(svc: Services) -> None:
    svc.audit.record(
        "user.created",
        actor="operator:test",
        resource="user:1",
        changes={
            "username": "alice.smith",
            "password": "x",
            "profile": {"email": "alice@example.com", "totp_secret": "JBSWY3DPEHPK3PXP"},
            "totp": True,
        },
    )

    with db.engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT CAST(changes AS TEXT) FROM audit_events WHERE id = 1")
        ).scalar_one()
    for secret in ("alice.smith", "alice@example.com", "JBSWY3DPEHPK3PXP"):
        assert secret not in stored
    assert json.loads(stored) == {
        "username": "a***h",
        "password": "***",
        "profile": {"email": "a***m", "totp_secret": "***"},
        "totp": True,
    }
    assert svc.audit.verify() == ChainReport(ok=True, checked=1)
