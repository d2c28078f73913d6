"""The initial store: events, the typed tables, exceptions, cursors and the audit chain.

Revision 0001 creates the tables as quantdesk/indexer/schema.py declared them when it was
written; a later change to the schema comes as a new revision with explicit `op` steps."""
from __future__ import annotations

from alembic import op

from quantdesk.indexer.schema import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
