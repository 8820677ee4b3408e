"""Feed tokens: a personal layer's name in proxy URLs, for feed readers that send no key.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a layer fitted before this revision gets its token at its next fit (PersonalStore.put)
    op.add_column("personal_layers", sa.Column("feed_token", sa.String(64)))
    op.create_index("ix_personal_layers_feed_token", "personal_layers", ["feed_token"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_personal_layers_feed_token", "personal_layers")
    op.drop_column("personal_layers", "feed_token")
