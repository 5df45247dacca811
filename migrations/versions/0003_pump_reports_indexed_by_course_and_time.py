"""pump reports indexed by course and time

Every pump report checks the course's newest report time (out-of-order flag), and a
course's reports are listed newest first: one index on (course_id, reported_at) serves
both, and course_id alone, so it replaces the course_id index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pump_report") as batch_op:
        batch_op.create_index("ix_pump_report_course_reported", ["course_id", "reported_at"])
        batch_op.drop_index("ix_pump_report_course_id")


def downgrade() -> None:
    with op.batch_alter_table("pump_report") as batch_op:
        batch_op.create_index("ix_pump_report_course_id", ["course_id"])
        batch_op.drop_index("ix_pump_report_course_reported")
