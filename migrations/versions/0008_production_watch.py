"""alerts remember when their condition began

The time from a condition (a bag's grace expired, an alarm unresolved too long) to the
first SMS is what the metrics measure; raised_at alone hides a scan's own delay.

Revision ID: 0008_production_watch
Revises: 0011_interop
Create Date: 2026-11-29

"""
import sqlmodel  # noqa: F401
import sqlalchemy as sa
from alembic import op

revision = "0008_production_watch"
down_revision = "0011_interop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("condition_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_column("condition_at")
