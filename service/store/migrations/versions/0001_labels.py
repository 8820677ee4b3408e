"""Labels: every labelling act with its author and time.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("headline", sa.Text, nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("source", sa.String(255)),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_labels_key", "labels", ["key"])
    op.create_index("ix_labels_created_at", "labels", ["created_at"])


def downgrade() -> None:
    op.drop_table("labels")
