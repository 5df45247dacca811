"""the outbox sends by priority: a missed bag change's SMS before a flood of others

Revision ID: 0016_outbox_priority
Revises: 0015_board_users
Create Date: 2026-11-30

"""
import sqlalchemy as sa
from alembic import op

revision = "0016_outbox_priority"
down_revision = "0015_board_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch_op:
        # Messages already queued keep their order among themselves: one priority for all.
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False,
                                      server_default="1"))
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.alter_column("priority", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.drop_column("priority")
