"""domestic payments: one row per payment made within a payment consent

The creditor's account identification is stored sealed (DATA-1); amounts are integer
minor units. A new table only: nothing existing changes (the consent status COND needs
no schema change: statuses are strings).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import authserver.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domestic_payments",
        sa.Column("payment_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("debtor_account_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("creditor_scheme", sa.String(length=40), nullable=False),
        sa.Column("creditor_name", sa.String(length=350), nullable=True),
        sa.Column("creditor_sealed", sa.Text(), nullable=False),
        sa.Column("creditor_masked", sa.String(length=12), nullable=False),
        sa.Column("instruction_identification", sa.String(length=35), nullable=False),
        sa.Column("end_to_end_identification", sa.String(length=35), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=4), nullable=False),
        sa.Column("status_reason", sa.String(length=4), nullable=True),
        sa.Column("status_history", sa.JSON(), nullable=False),
        sa.Column("created_at", authserver.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", authserver.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_domestic_payments_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["debtor_account_id"],
            ["accounts.account_id"],
            name=op.f("fk_domestic_payments_debtor_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_domestic_payments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_domestic_payments")),
    )
    with op.batch_alter_table("domestic_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_domestic_payments_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_domestic_payments_consent_id"), ["consent_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("domestic_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domestic_payments_consent_id"))
        batch_op.drop_index(batch_op.f("ix_domestic_payments_client_id"))

    op.drop_table("domestic_payments")
