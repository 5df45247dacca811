"""the dispatcher's day: visit changes, site timings, callback outcomes, EVV exceptions

Visits remember their notes, when a dispatcher moved them (the schedule generator then
keeps their window), when their window last changed (messages queued before are
outdated), when and why they were cancelled or moved. Sites say how long a late unit
and an unanswered call-back request wait before an alert. Call-back requests record
their outcome. Check-ins that did not verify land in the EVV exception queue.

Revision ID: 0009_dispatcher_day
Revises: 0007_routing_objective
Create Date: 2026-11-29

"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_dispatcher_day"
down_revision = "0007_routing_objective"
branch_labels = None
depends_on = None

UTC = sqlmodel.sql.sqltypes.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("visit") as batch_op:
        batch_op.add_column(sa.Column("notes", TEXT(length=1000), nullable=True))
        batch_op.add_column(sa.Column("rescheduled_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("window_changed_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", UTC(), nullable=True))
        batch_op.add_column(sa.Column("reason_code", TEXT(length=40), nullable=True))
    with op.batch_alter_table("site") as batch_op:
        batch_op.add_column(sa.Column("late_unit_grace_minutes", sa.Integer(), nullable=False,
                                      server_default="15"))
        batch_op.add_column(sa.Column("callback_alert_minutes", sa.Integer(), nullable=False,
                                      server_default="30"))
    with op.batch_alter_table("callback_request") as batch_op:
        batch_op.add_column(sa.Column("outcome", TEXT(length=30), nullable=True))
        batch_op.add_column(sa.Column("note", TEXT(length=500), nullable=True))
    op.create_table(
        "evv_exception",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("check_in_id", sa.Integer(), nullable=True),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("kind", TEXT(length=40), nullable=False),
        sa.Column("detail", TEXT(length=300), nullable=True),
        sa.Column("status", TEXT(length=20), nullable=False),
        sa.Column("cleared_at", UTC(), nullable=True),
        sa.Column("cleared_by", TEXT(length=160), nullable=True),
        sa.Column("reason_code", TEXT(length=40), nullable=True),
        sa.Column("note", TEXT(length=500), nullable=True),
        sa.ForeignKeyConstraint(["check_in_id"], ["check_in.id"],
                                name=op.f("fk_evv_exception_check_in_id_check_in")),
        sa.ForeignKeyConstraint(["nurse_id"], ["nurse.id"],
                                name=op.f("fk_evv_exception_nurse_id_nurse")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_evv_exception_site_id_site")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_evv_exception_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evv_exception")),
    )
    with op.batch_alter_table("evv_exception") as batch_op:
        batch_op.create_index(batch_op.f("ix_evv_exception_site_id"), ["site_id"])
        batch_op.create_index(batch_op.f("ix_evv_exception_status"), ["status"])
        batch_op.create_index(batch_op.f("ix_evv_exception_visit_id"), ["visit_id"])


def downgrade() -> None:
    op.drop_table("evv_exception")
    with op.batch_alter_table("callback_request") as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("outcome")
    with op.batch_alter_table("site") as batch_op:
        batch_op.drop_column("callback_alert_minutes")
        batch_op.drop_column("late_unit_grace_minutes")
    with op.batch_alter_table("visit") as batch_op:
        batch_op.drop_column("reason_code")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("window_changed_at")
        batch_op.drop_column("rescheduled_at")
        batch_op.drop_column("notes")
