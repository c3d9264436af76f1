"""clients get a rate-limit tier (issue 14 item 4)

Every existing client becomes ``starter``, the smallest budget: an operator raises a
client's tier deliberately.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(
            sa.Column(
                "rate_limit_tier", sa.String(length=16), server_default="starter", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("rate_limit_tier")
