"""Alembic environment: runs the migrations on the connection quantdesk.indexer.store.migrate
hands over (config.attributes["connection"]); the store never runs Alembic any other way."""
from __future__ import annotations

from alembic import context

from quantdesk.indexer.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
