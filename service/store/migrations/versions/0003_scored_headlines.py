"""Scored headlines: the bounded pool of headlines the service has scored, replayed by retraining.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scored_headlines",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("headline", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scored_headlines_seen_at", "scored_headlines", ["seen_at"])


def downgrade() -> None:
    op.drop_table("scored_headlines")
