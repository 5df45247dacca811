"""site-scoped access: the sites each API token acts for

A token without a site is global (admins only); every other token names one or more.

Revision ID: 0012_site_scoped_access
Revises: 0009_dispatcher_day
Create Date: 2026-11-29

"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012_site_scoped_access"
down_revision = "0009_dispatcher_day"
branch_labels = None
depends_on = None

UTC = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "api_token_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_api_token_site_site_id_site")),
        sa.ForeignKeyConstraint(["token_id"], ["api_token.id"],
                                name=op.f("fk_api_token_site_token_id_api_token")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token_site")),
        sa.UniqueConstraint("token_id", "site_id", name=op.f("uq_api_token_site_token_id_site_id")),
    )
    with op.batch_alter_table("api_token_site") as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_site_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_token_site_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token_site") as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_site_token_id"))
        batch_op.drop_index(batch_op.f("ix_api_token_site_site_id"))
    op.drop_table("api_token_site")
