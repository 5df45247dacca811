"""default skill rules: infants need infant-trained nurses, children pediatric ones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RULES = [
    # Infants (< 12 months) need a nurse trained for infants.
    {"name": "infant", "skill": "infant", "min_age_months": None, "max_age_months": 12},
    # Every patient under 18 needs a pediatric nurse.
    {"name": "pediatric", "skill": "pediatric", "min_age_months": None, "max_age_months": 216},
]

skill_rule = sa.table(
    "skill_rule",
    sa.column("name", sa.String),
    sa.column("skill", sa.String),
    sa.column("min_age_months", sa.Integer),
    sa.column("max_age_months", sa.Integer),
    sa.column("active", sa.Boolean),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)


def upgrade() -> None:
    now = datetime.now(UTC)
    op.bulk_insert(
        skill_rule,
        [rule | {"active": True, "created_at": now, "updated_at": now} for rule in RULES],
    )


def downgrade() -> None:
    op.execute(skill_rule.delete().where(skill_rule.c.name.in_([r["name"] for r in RULES])))
