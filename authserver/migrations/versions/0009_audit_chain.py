"""audit chain off the hot path: database-given ids, chained once by a chainer

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000

A request now stores its event with one INSERT: the id comes from an identity
(PostgreSQL) or the rowid (SQLite), and ``chain_seq``, ``prev_hash`` and ``hash`` stay
NULL until the chainer links the row. The append-only triggers are replaced by ones
that allow exactly that change (NULL -> value, once, content untouched) and refuse
every other UPDATE and every DELETE (and TRUNCATE on PostgreSQL).

Existing rows were chained in id order, so they get ``chain_seq = id`` and keep their
hashes: the chain verifies across the upgrade. A downgrade is refused while any row is
unchained or chained out of id order (the old format cannot express that).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CONTENT = ("id", "timestamp", "event_type", "request_id", "actor", "resource", "outcome")
_CHAIN = ("chain_seq", "prev_hash", "hash")

_PG_OLD_GUARD = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _chain_once_condition(*, postgresql: bool) -> str:
    """SQL that is true only for the chainer's one allowed UPDATE of a row."""
    same = "IS NOT DISTINCT FROM" if postgresql else "IS"
    parts = [f"OLD.{c} IS NULL" for c in _CHAIN] + [f"NEW.{c} IS NOT NULL" for c in _CHAIN]
    parts += [f"NEW.{c} {same} OLD.{c}" for c in _CONTENT]
    # json has no equality operator on PostgreSQL: compare the stored text.
    cast = "::text" if postgresql else ""
    parts.append(f"NEW.changes{cast} {same} OLD.changes{cast}")
    return " AND ".join(parts)


def _create_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"    IF TG_OP = 'UPDATE' AND {_chain_once_condition(postgresql=True)} THEN\n"
            "        RETURN NEW;\n    END IF;\n"
            "    RAISE EXCEPTION 'audit_events is append-only' "
            "USING ERRCODE = 'insufficient_privilege';\nEND;\n$$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"WHEN NOT ({_chain_once_condition(postgresql=False)}) "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def _create_old_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_OLD_GUARD)
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def _drop_guards() -> None:
    """Drop the triggers (the PostgreSQL function stays; it is replaced, not dropped)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    _drop_guards()
    with op.batch_alter_table("audit_events", recreate="auto") as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch.create_unique_constraint(batch.f("uq_audit_events_chain_seq"), ["chain_seq"])
    if postgresql:
        op.execute("ALTER TABLE audit_events ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        op.execute(
            "SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
            "COALESCE(MAX(id), 0) + 1, false) FROM audit_events"
        )
    # Rows chained before this revision were chained in id order.
    op.execute("UPDATE audit_events SET chain_seq = id")
    with op.batch_alter_table("audit_events") as batch:
        batch.create_index(
            "ix_audit_events_unchained",
            ["id"],
            unique=False,
            sqlite_where=sa.text("chain_seq IS NULL"),
            postgresql_where=sa.text("chain_seq IS NULL"),
        )
    _create_guards()


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    unexpressible = bind.execute(
        sa.text("SELECT COUNT(*) FROM audit_events WHERE chain_seq IS NULL OR chain_seq <> id")
    ).scalar_one()
    if unexpressible:
        raise RuntimeError(
            f"{unexpressible} audit events are unchained or chained out of id order; "
            "run 'authserver audit chain' first, or keep revision 0009"
        )
    _drop_guards()
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index(
            "ix_audit_events_unchained",
            sqlite_where=sa.text("chain_seq IS NULL"),
            postgresql_where=sa.text("chain_seq IS NULL"),
        )
    if postgresql:
        op.execute("ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY IF EXISTS")
    with op.batch_alter_table("audit_events", recreate="auto") as batch:
        batch.drop_constraint(batch.f("uq_audit_events_chain_seq"), type_="unique")
        batch.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("chain_seq")
    _create_old_guards()
