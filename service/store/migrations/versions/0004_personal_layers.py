"""Personal layers: whose taste each label speaks for (``labels.reader``), and each reader's layer.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("reader", sa.String(128)))
    op.execute("UPDATE labels SET reader = author")  # a key's labels were its reader's all along
    op.create_index("ix_labels_reader", "labels", ["reader"])
    op.create_table(
        "personal_layers",
        sa.Column("reader", sa.String(128), primary_key=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("labels", sa.Integer, nullable=False),
        sa.Column("layer", sa.JSON, nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("personal_layers")
    op.drop_index("ix_labels_reader", "labels")
    op.drop_column("labels", "reader")
