"""Alembic environment: uses the connection handed over by portal.migrate, or the app's URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import portal.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from portal import create_app
    from portal.db import make_engine

    app = create_app()
    with make_engine(app.config["DATABASE_URL"]).begin() as conn:
        run_migrations(conn)
