"""open banking consents: v4.0 status codes, kinds, details, status history

Carries today's consents over: Authorised→AUTH, Rejected→RJCT, Revoked→CANC,
Expired→EXPD, AwaitingAuthorisation→AWAU, each of kind account_access with one
"migrated" history row; downgrade maps the codes back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:20:00.000000
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import authserver.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Old status → v4.0 code. "Consumed" belongs to single-use payment consents, which never
# existed for account access; were one there, it no longer authorises anything, so it
# becomes CANC (not AUTH, which would bring it back to life).
TO_CODES = {
    "AwaitingAuthorisation": "AWAU",
    "Authorised": "AUTH",
    "Rejected": "RJCT",
    "Revoked": "CANC",
    "Expired": "EXPD",
    "Consumed": "CANC",
}
FROM_CODES = {
    "AWAU": "AwaitingAuthorisation",
    "AUTH": "Authorised",
    "RJCT": "Rejected",
    "CANC": "Revoked",
    "EXPD": "Expired",
}

consents = sa.table(
    "consents",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("status", sa.String),
    sa.column("kind", sa.String),
    sa.column("selected_accounts", sa.JSON),
    sa.column("updated_at", authserver.db.UTCDateTime(timezone=True)),
    sa.column("status_updated_at", authserver.db.UTCDateTime(timezone=True)),
)
history = sa.table(
    "consent_status_history",
    sa.column("id", sa.String),
    sa.column("consent_id", sa.String),
    sa.column("from_status", sa.String),
    sa.column("to_status", sa.String),
    sa.column("at", authserver.db.UTCDateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("reason", sa.String),
)


def _map_statuses(mapping: dict[str, str]) -> None:
    for old, new in mapping.items():
        op.execute(consents.update().where(consents.c.status == old).values(status=new))


def upgrade() -> None:
    op.create_table(
        "consent_status_history",
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("from_status", sa.String(length=4), nullable=True),
        sa.Column("to_status", sa.String(length=4), nullable=False),
        sa.Column("at", authserver.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.id"],
            name=op.f("fk_consent_status_history_consent_id_consents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_status_history")),
    )
    with op.batch_alter_table("consent_status_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_status_history_consent_id"), ["consent_id"], unique=False
        )

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=30), server_default="account_access", nullable=False)
        )
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("selected_accounts", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("status_updated_at", authserver.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column("user_id", existing_type=sa.String(length=36), nullable=True)

    _map_statuses(TO_CODES)
    op.execute(
        consents.update().values(
            kind="account_access",
            selected_accounts=sa.literal([], sa.JSON),
            status_updated_at=consents.c.updated_at,
        )
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(consents.c.id, consents.c.status, consents.c.updated_at))
    entries = [
        {
            "id": str(uuid.uuid4()),
            "consent_id": consent_id,
            "from_status": None,
            "to_status": status,
            "at": updated_at,
            "actor": "system:migration",
            "reason": "migrated",
        }
        for consent_id, status, updated_at in rows
    ]
    if entries:
        op.bulk_insert(history, entries)

    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.alter_column("selected_accounts", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column(
            "status_updated_at",
            existing_type=authserver.db.UTCDateTime(timezone=True),
            nullable=False,
        )


def downgrade() -> None:
    op.drop_table("consent_status_history")
    # A consent the TPP created before any user was known cannot exist in the old schema.
    op.execute(consents.delete().where(consents.c.user_id.is_(None)))
    _map_statuses(FROM_CODES)
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.String(length=36), nullable=False)
        batch_op.drop_column("status_updated_at")
        batch_op.drop_column("selected_accounts")
        batch_op.drop_column("details")
        batch_op.drop_column("kind")
