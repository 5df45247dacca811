"""A course's infusion: lifecycle, bag schedule, bag changes and pump reports."""

import json

from flask import current_app, g
from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.courses import CourseSchema
from opsbackend.api.custody import label_text, lot_field
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    one_of,
    page_of,
    paging,
    record_id,
    short_text,
    utc_datetime,
)
from opsbackend.api.site_policy import RECORD
from opsbackend.domain.infusion import (
    bag_change_requests,
    bags,
    course_lifecycle,
    pump_reports,
)
from opsbackend.domain.infusion.bag_record import BagLabel
from opsbackend.models import Patient, Site
from opsbackend.models.course import ALARM_TYPES, PUMP_STATUSES

blp = Blueprint(
    "infusion", __name__, url_prefix="/api/v1/courses",
    description="A course's lifecycle, bag schedule, bag changes and pump reports",
)
LEADS = ("admin", "dispatcher")
LABEL_FIELDS = ("lot", "expires_at", "pharmacy_bag_id", "double_check_nurse_id",
                "double_check_contact_id")


class TransitionSchema(Schema):
    at = utc_datetime(metadata={"description": "when it happened (default: now)"})


class PauseSchema(TransitionSchema):
    reason = short_text(200, load_default="")


class DiscontinueSchema(TransitionSchema):
    reason = short_text(200, required=True)


class StartSchema(TransitionSchema):
    volume_ml = fields.Float(validate=validate.Range(min=1, max=1000))
    nurse_id = fields.Integer()


class BagWarningSchema(Schema):
    code = fields.String(metadata={"description": "expired, room_time_exceeded, "
                                   "storage_time_exceeded, temperature_excursion, volume_short"})
    message = fields.String()
    values = fields.Dict(metadata={"description": "the numbers in the message"})


class BagSchema(Schema):
    phi_fields = ("double_checked_by",)

    id = fields.Integer()
    sequence = fields.Integer()
    hung_at = fields.DateTime()
    due_at = fields.DateTime()
    changed_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    volume_ml = fields.Float(allow_none=True)
    hung_by_nurse_id = fields.Integer(allow_none=True)
    changed_by_nurse_id = fields.Integer(allow_none=True)
    double_checked_by = fields.String(allow_none=True)
    no_flush_confirmed = fields.Boolean(allow_none=True)
    change_timing_flag = fields.String(allow_none=True,
        metadata={"description": "early or late when changed outside the change window"}
    )
    lot = fields.String(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    pharmacy_bag_id = fields.String(allow_none=True)
    prepared_bag_id = fields.Integer(allow_none=True)
    double_check_nurse_id = fields.Integer(allow_none=True)
    double_check_contact_id = fields.Integer(allow_none=True)
    warnings = fields.List(fields.Nested(BagWarningSchema))


class BagChangeSchema(Schema):
    changed_at = utc_datetime(metadata={"description": "default: now"})
    nurse_id = fields.Integer()
    volume_ml = fields.Float(validate=validate.Range(min=1, max=1000),
                             metadata={"description": "volume of the new bag"})
    double_checked_by = fields.String(validate=validate.Length(max=120))
    no_flush_confirmed = fields.Boolean(
        required=True, metadata={"description": "the line was not flushed at the change"}
    )
    # The new bag's label (bag_record.BagLabel); what is left out comes from the
    # pharmacy's release of the same bag, found by pharmacy_bag_id or lot.
    lot = lot_field()
    expires_at = utc_datetime(metadata={"description": "the expiry on the new bag's label"})
    pharmacy_bag_id = label_text(120, metadata={
        "description": "the pharmacy's bag id, as on the label or read from its barcode"})
    double_check_nurse_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                           metadata={"description": "a second nurse"})
    double_check_contact_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "or a trained caregiver (a contact of the patient)"})


class BagChangeResultSchema(Schema):
    old_bag = fields.Nested(BagSchema)
    new_bag = fields.Nested(BagSchema)
    warnings = fields.List(fields.Nested(BagWarningSchema), metadata={
        "description": "what was wrong with the new bag; each is a deviation, and the "
                       "dispatcher has an alert"})


class PumpReportSchema(Schema):
    id = fields.Integer(dump_only=True)
    course_id = fields.Integer(dump_only=True)
    bag_id = fields.Integer(allow_none=True, dump_only=True)
    status = one_of(PUMP_STATUSES, required=True)
    alarm_type = one_of(ALARM_TYPES, allow_none=True)
    volume_infused_ml = fields.Float(allow_none=True, validate=validate.Range(min=0))
    volume_remaining_ml = fields.Float(allow_none=True, validate=validate.Range(min=0))
    battery_pct = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100))
    rate_ml_per_hour = fields.Float(allow_none=True, validate=validate.Range(min=0, max=50))
    reported_at = utc_datetime(metadata={"description": "default: now"})
    reported_by_nurse_id = record_id(allow_none=True)
    reported_by = one_of(("nurse", "system"), load_default="nurse")
    source = one_of(("api", "web"), load_default="api")
    idempotency_key = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    flags = fields.List(fields.String(), dump_only=True)


class ScheduleSchema(Schema):
    course = fields.Nested(CourseSchema)
    site_timezone = fields.String()
    hanging_bag = fields.Nested(BagSchema, allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    time_left_seconds = fields.Integer(allow_none=True)
    bags_remaining = fields.Integer(
        allow_none=True, metadata={"description": "bags still to hang after the one hanging"}
    )
    projected_end_at = fields.DateTime(allow_none=True)
    infused_hours = fields.Float(allow_none=True)
    interrupted_hours = fields.Float(allow_none=True)
    interrupted_now = fields.Boolean()
    unresolved_pump_alarm = fields.Nested(PumpReportSchema, allow_none=True)
    last_pump_report = fields.Nested(PumpReportSchema, allow_none=True)


def _transition_route(path: str, schema, function, summary: str):
    """POST /courses/{id}/<path>: one state-machine step."""

    @allow(*LEADS, sites=RECORD)
    @blp.arguments(schema)
    @blp.response(200, CourseSchema)
    def view(data, course_id):
        course = function(context.session(), context.clock(), course_id,
                          rules=context.rules(), **data)
        context.commit()
        return course

    view.__doc__ = summary
    blp.route(f"/<int:course_id>/{path}", methods=["POST"], endpoint=path)(view)


_transition_route("start", StartSchema, course_lifecycle.start_course,
                  "Start the course: bag 1 hangs from the start time")
_transition_route("pause", PauseSchema, course_lifecycle.pause_course,
                  "Pause the course (clinical hold): its clock stops")
_transition_route("resume", TransitionSchema, course_lifecycle.resume_course, "Resume the course")
_transition_route("discontinue", DiscontinueSchema, course_lifecycle.discontinue_course,
                  "Discontinue the course for good")


@blp.route("/<int:course_id>/schedule", methods=["GET"])
class Schedule(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, ScheduleSchema)
    def get(self, course_id):
        """The bag hanging now, when it is due, time left, bags remaining, projected end"""
        session = context.session()
        schedule = bags.bag_schedule(session, context.clock(), course_id)
        patient = session.get(Patient, schedule.course.patient_id)
        progress = schedule.progress
        return {
            "course": schedule.course,
            "site_timezone": session.get(Site, patient.site_id).timezone,
            "hanging_bag": schedule.hanging_bag,
            "due_at": schedule.hanging_bag.due_at if schedule.hanging_bag else None,
            "time_left_seconds": _seconds(schedule.time_left),
            "bags_remaining": schedule.bags_remaining,
            "projected_end_at": progress.projected_end_at if progress else None,
            "infused_hours": _hours(progress.infused) if progress else None,
            "interrupted_hours": _hours(progress.interrupted) if progress else None,
            "interrupted_now": bool(progress and progress.open_interruption),
            "unresolved_pump_alarm": pump_reports.unresolved_alarm(session, course_id),
            "last_pump_report": pump_reports.latest_report(session, course_id),
        }


@blp.route("/<int:course_id>/bags", methods=["GET"])
class Bags(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, BagSchema(many=True))
    def get(self, course_id):
        """Every bag of the course, in order"""
        return bags.list_bags(context.session(), course_id)


class IdempotencyHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key", load_default=None,
        validate=validate.Regexp(r"^[\x21-\x7e]{1,120}$",
                                 error="1 to 120 visible ASCII characters"),
        metadata={"description": "a retry with the same key returns the first change's "
                                 "result; the same key with another body is a 409"})


@blp.route("/<int:course_id>/bag-changes", methods=["POST"])
class BagChanges(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.arguments(IdempotencyHeaders, location="headers")
    @blp.arguments(BagChangeSchema)
    @blp.response(201, BagChangeResultSchema)
    @blp.errors(409)
    def post(self, headers, data, course_id):
        """Record a bag change: the hanging bag comes down, the next one hangs (once per
        Idempotency-Key; no_flush_confirmed must be true)"""
        key = headers["idempotency_key"]
        body = dict(data)
        data.setdefault("nurse_id", _token_nurse_id())
        label = BagLabel(**{name: data.pop(name) for name in LABEL_FIELDS if name in data})

        def change():
            return bags.change_bag(context.session(), context.clock(), course_id,
                                   rules=context.rules(), label=label, **data)

        if key is None:
            result = change()
            context.commit()
            return result
        outcome = bag_change_requests.change_once(
            context.session(), course_id, key, body,
            lambda: BagChangeResultSchema().dump(change()))
        context.commit()
        return current_app.response_class(
            json.dumps(outcome.response), status=201, mimetype="application/json",
            headers={"Idempotent-Replayed": "true" if outcome.replayed else "false"})


@blp.route("/<int:course_id>/pump-reports", methods=["GET", "POST"])
class PumpReports(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(PumpReportSchema))
    def get(self, args, course_id):
        """Pump reports of the course, newest first"""
        return pump_reports.list_reports(context.session(), course_id, **paging(args))

    @allow(*STAFF, sites=RECORD)
    @blp.arguments(PumpReportSchema)
    @blp.response(201, PumpReportSchema)
    def post(self, data, course_id):
        """Report the pump's status (the same idempotency_key twice stores it once)"""
        data.setdefault("reported_by_nurse_id", _token_nurse_id())
        report, _created = pump_reports.record_pump_report(
            context.session(), context.clock(), course_id, data, context.rules()
        )
        context.commit()
        return report


def _token_nurse_id():
    return g.token.nurse_id if g.get("token") else None


def _seconds(delta):
    return None if delta is None else int(delta.total_seconds())


def _hours(delta):
    return round(delta.total_seconds() / 3600, 2)
