"""strong customer authentication: login locks, and the login's amr/acr on refresh families

``login_locks``: one row per user with failed attempts (password or second factor), the
number of locks so far (each doubles the next) and the current lock's end; in SQL so a
lock survives a restart and holds in every process. ``refresh_tokens`` gains ``amr`` and
``acr``: how the user authenticated when the family began. Existing families have NULL.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import authserver.db

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_locks",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("locked_until", authserver.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", authserver.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_locks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_login_locks")),
    )
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("amr", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("acr", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("acr")
        batch.drop_column("amr")
    op.drop_table("login_locks")
