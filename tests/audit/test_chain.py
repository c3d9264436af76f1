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
    assert svc.audit.chain() == count
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
        # A chained row is linked once: it cannot be re-linked elsewhere in the chain.
        "UPDATE audit_events SET chain_seq = chain_seq + 10",
        "UPDATE audit_events SET chain_seq = NULL, prev_hash = NULL, hash = NULL",
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
    assert report.reason == "chain position 2 is missing"


def test_verify_notices_a_deleted_first_row(svc: Services) -> None:
    record_events(svc, 2)

    with db.engine.begin() as connection:
        bypass_guards(connection, "delete")
        connection.execute(sa.text("DELETE FROM audit_events WHERE id = 1"))

    report = svc.audit.verify()
    assert report.ok is False
    assert report.broken_id == 2


def test_verify_catches_two_chained_rows_swapped_behind_the_triggers(svc: Services) -> None:
    record_events(svc, 3)

    with db.engine.begin() as connection:
        bypass_guards(connection, "update")
        # Swap positions 2 and 3 (through a free value: chain_seq is unique).
        connection.execute(sa.text("UPDATE audit_events SET chain_seq = 99 WHERE id = 2"))
        connection.execute(sa.text("UPDATE audit_events SET chain_seq = 2 WHERE id = 3"))
        connection.execute(sa.text("UPDATE audit_events SET chain_seq = 3 WHERE id = 2"))

    report = svc.audit.verify()
    assert report.ok is False
    assert (report.broken_id, report.checked) == (3, 1)
    assert report.reason == "prev_hash does not match"


def test_stored_events_are_unchained_until_the_chainer_links_them(svc: Services) -> None:
    svc.audit.record("client.created", actor="operator:test", resource="client:a")
    svc.audit.record("client.created", actor="operator:test", resource="client:b")
    db.session.close()
    svc.clock.advance(5)  # type: ignore[attr-defined]

    pending = svc.audit.verify()
    assert pending == ChainReport(
        ok=True, checked=0, unchained=2, oldest_unchained_seconds=pending.oldest_unchained_seconds
    )
    assert pending.oldest_unchained_seconds == pytest.approx(5.0)
    assert [row.hash for row in svc.audit.iter_events()] == [None, None]

    assert svc.audit.chain() == 2
    assert svc.audit.chain() == 0
    assert svc.audit.verify() == ChainReport(ok=True, checked=2)


def test_a_window_older_than_the_bound_fails_verify(svc: Services) -> None:
    first = svc.audit.record("client.created", actor="operator:test", resource="client:a")
    first_id = first.id
    db.session.close()
    svc.clock.advance(svc.settings.audit.max_unchained_seconds + 1)  # type: ignore[attr-defined]

    report = svc.audit.verify()

    assert report.ok is False
    assert (report.checked, report.unchained, report.broken_id) == (0, 1, first_id)
    assert report.reason is not None
    assert "is the chainer running?" in report.reason
    svc.audit.chain()
    assert svc.audit.verify() == ChainReport(ok=True, checked=1)


def test_the_chainer_may_not_change_content_while_linking(svc: Services) -> None:
    svc.audit.record("client.created", actor="operator:test", resource="client:a")
    db.session.close()

    with pytest.raises(DBAPIError) as excinfo, db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE audit_events SET chain_seq = 1, prev_hash = :g, hash = :h, "
                "actor = 'operator:mallory'"
            ),
            {"g": GENESIS, "h": "a" * 64},
        )

    assert "append-only" in str(excinfo.value)


def test_a_row_committed_out_of_id_order_is_still_chained(svc: Services) -> None:
    """Ids from a sequence commit out of order: id 2 may commit (and be chained) before id 1.
    The late row gets the next chain position; none is skipped, and the chain verifies."""
    if is_postgresql():
        early = db.engine.connect()
        try:
            insert = sa.text(
                "INSERT INTO audit_events (timestamp, event_type, request_id, actor, resource, "
                "changes, outcome) VALUES (:t, 'slow.event', '-', 'a', 'r', '{}', 'success') "
                "RETURNING id"
            )
            slow_id = early.execute(insert, {"t": svc.clock.now()}).scalar_one()  # not committed
            fast = svc.audit.record("fast.event", actor="a", resource="r")
            fast_id = fast.id
            db.session.close()
            assert fast_id > slow_id
            assert svc.audit.chain() == 1
            early.commit()
        finally:
            early.close()
    else:
        # SQLite hands out rowids under its write lock, so commits follow id order; a row
        # stored with a smaller id after a larger one was chained gives the same picture.
        fast = svc.audit.record("fast.event", actor="a", resource="r")
        fast_id = fast.id
        db.session.close()
        assert svc.audit.chain() == 1
        slow_id = fast_id - 1
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO audit_events (id, timestamp, event_type, request_id, actor, "
                    "resource, changes, outcome) "
                    "VALUES (:id, :t, 'slow.event', '-', 'a', 'r', '{}', 'success')"
                ),
                {"id": slow_id, "t": svc.clock.now()},
            )

    assert svc.audit.chain() == 1
    rows = {row.id: row for row in svc.audit.iter_events()}
    assert (rows[fast_id].chain_seq, rows[slow_id].chain_seq) == (1, 2)
    assert rows[slow_id].prev_hash == rows[fast_id].hash
    assert svc.audit.verify() == ChainReport(ok=True, checked=2)


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
    svc.audit.chain()
    assert svc.audit.verify() == ChainReport(ok=True, checked=1)
