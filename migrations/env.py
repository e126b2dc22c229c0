"""Alembic's environment: the schema is SQLModel's metadata (every table in `models/`).

Run through `shouhu db upgrade` / `shouhu init` (shouhu/migrate.py), which passes the engine in;
SQLite's ALTER TABLE is limited, so every change is rendered and run in batch mode.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
