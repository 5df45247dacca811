"""board users: people who sign in to the dispatcher board, with their role and sites

Revision ID: 0015_board_users
Revises: 0009_dispatcher_day
Create Date: 2026-11-29 18:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = "0015_board_users"
down_revision: Union[str, None] = "0013_trust_safety"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_sign_in_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("disabled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "user_account_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("user_account_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_user_account_site_site_id_site")),
        sa.ForeignKeyConstraint(["user_account_id"], ["user_account.id"],
                                name=op.f("fk_user_account_site_user_account_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account_site")),
        sa.UniqueConstraint("user_account_id", "site_id",
                            name=op.f("uq_user_account_site_user_account_id_site_id")),
    )
    with op.batch_alter_table("user_account_site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_account_site_user_account_id"),
                              ["user_account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_account_site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_account_site_user_account_id"))
    op.drop_table("user_account_site")
    op.drop_table("user_account")
