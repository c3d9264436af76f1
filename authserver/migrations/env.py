"""Alembic environment: the URL comes from ``authserver.migrate`` or the AUTHSERVER_* settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

import authserver.models as models
from authserver.settings import load_settings

config = context.config
url = config.attributes.get("url") or load_settings().sqlalchemy_url


def run_migrations() -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=models.Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
