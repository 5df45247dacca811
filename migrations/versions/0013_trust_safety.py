"""trust and safety: alert resolve reasons and acknowledgement pauses, voice call steps,
API bag-change idempotency keys, PIN guards, SMS opt-outs from any phone

Revision ID: 0013_trust_safety
Revises: 0009_dispatcher_day
Create Date: 2026-11-29

"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013_trust_safety"
down_revision = "0012_site_scoped_access"
branch_labels = None
depends_on = None

UTC = sqlmodel.sql.sqltypes.UTCDateTime
TEXT = sqlmodel.sql.sqltypes.AutoString


def _record_columns():
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("resolution_reason", TEXT(length=30), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_alert_duplicate_of_id_alert"), "alert",
                                    ["duplicate_of_id"], ["id"])
    op.create_table(
        "acknowledgement_pause",
        *_record_columns(),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("alert_kind", TEXT(length=40), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_acknowledgement_pause_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgement_pause")),
        sa.UniqueConstraint("site_id", "alert_kind",
                            name=op.f("uq_acknowledgement_pause_site_id_alert_kind")),
    )
    op.create_index(op.f("ix_acknowledgement_pause_site_id"), "acknowledgement_pause",
                    ["site_id"])
    op.create_table(
        "call_step",
        *_record_columns(),
        sa.Column("call_sid", TEXT(length=64), nullable=False),
        sa.Column("step", TEXT(length=40), nullable=False),
        sa.Column("nurse_id", sa.Integer(), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["nurse_id"], ["nurse.id"],
                                name=op.f("fk_call_step_nurse_id_nurse")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"],
                                name=op.f("fk_call_step_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_step")),
        sa.UniqueConstraint("call_sid", "step", name=op.f("uq_call_step_call_sid_step")),
    )
    op.create_table(
        "bag_change_request",
        *_record_columns(),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", TEXT(length=120), nullable=False),
        sa.Column("body_hash", TEXT(length=64), nullable=False),
        sa.Column("new_bag_id", sa.Integer(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"],
                                name=op.f("fk_bag_change_request_course_id_course")),
        sa.ForeignKeyConstraint(["new_bag_id"], ["bag.id"],
                                name=op.f("fk_bag_change_request_new_bag_id_bag")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bag_change_request")),
        sa.UniqueConstraint("course_id", "idempotency_key",
                            name=op.f("uq_bag_change_request_course_id_idempotency_key")),
    )
    op.create_index(op.f("ix_bag_change_request_course_id"), "bag_change_request",
                    ["course_id"])
    op.create_table(
        "pin_guard",
        *_record_columns(),
        sa.Column("subject", TEXT(length=60), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTC(), nullable=True),
        sa.Column("locked_until", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pin_guard")),
        sa.UniqueConstraint("subject", name=op.f("uq_pin_guard_subject")),
    )
    op.create_table(
        "sms_opt_out",
        *_record_columns(),
        sa.Column("phone", TEXT(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_opt_out")),
        sa.UniqueConstraint("phone", name=op.f("uq_sms_opt_out_phone")),
    )


def downgrade() -> None:
    op.drop_table("sms_opt_out")
    op.drop_table("pin_guard")
    op.drop_index(op.f("ix_bag_change_request_course_id"), table_name="bag_change_request")
    op.drop_table("bag_change_request")
    op.drop_table("call_step")
    op.drop_index(op.f("ix_acknowledgement_pause_site_id"), table_name="acknowledgement_pause")
    op.drop_table("acknowledgement_pause")
    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_constraint(op.f("fk_alert_duplicate_of_id_alert"), type_="foreignkey")
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("resolution_reason")
