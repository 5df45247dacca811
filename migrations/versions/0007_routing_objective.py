"""sites choose what their day plans minimise: total travel or units first

Revision ID: 0007_routing_objective
Revises: 0008_production_watch
Create Date: 2026-11-29

"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_routing_objective"
down_revision = "0008_production_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site") as batch_op:
        # Existing sites plan by distance, as the plans did.
        batch_op.add_column(sa.Column("routing_objective",
                                      sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default="distance"))
    with op.batch_alter_table("site") as batch_op:
        batch_op.alter_column("routing_objective", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("site") as batch_op:
        batch_op.drop_column("routing_objective")
