"""refresh tokens remember the open-banking intent, so a refresh repeats it

Two nullable JSON columns on ``refresh_tokens``: where the TPP asked for
``openbanking_intent_id`` (``id_token``/``userinfo``) and the granted RFC 9396
``authorization_details``. Existing families have neither (NULL): they refresh as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("intent_claims", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("authorization_details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("authorization_details")
        batch.drop_column("intent_claims")
