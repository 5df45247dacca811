from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, one_of, page_of, paging, short_text
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.infusion import courses
from opsbackend.domain.records import get_or_404
from opsbackend.models import Course
from opsbackend.models.course import BAG_INTERVAL_HOURS, COURSE_STATUSES

blp = Blueprint("courses", __name__, url_prefix="/api/v1/courses", description="Infusion courses")
WRITERS = ("admin", "dispatcher")


class WarningSchema(Schema):
    code = fields.String()
    message = fields.String()


class CourseSchema(Schema):
    id = fields.Integer(dump_only=True)
    patient_id = fields.Integer(required=True)
    drug = short_text(80, load_default="blinatumomab")
    planned_start_at = fields.CourseStart(required=True)
    duration_days = fields.Integer(load_default=28, validate=validate.Range(min=1, max=120))
    bag_interval_hours = fields.Integer(required=True, validate=validate.OneOf(BAG_INTERVAL_HOURS))
    rate_ml_per_hour = fields.Float(
        validate=validate.Range(min=0.1, max=50),
        metadata={"description": "defaults to the label rate for the bag interval"},
    )
    bag_volume_ml = fields.Float(validate=validate.Range(min=1, max=1000), allow_none=True)
    pump_model = fields.String(validate=validate.Length(max=80), allow_none=True)
    pump_serial = fields.String(validate=validate.Length(max=80), allow_none=True)
    change_window_before_minutes = fields.Integer(validate=validate.Range(min=0, max=24 * 60))
    change_window_after_minutes = fields.Integer(validate=validate.Range(min=0, max=24 * 60))
    preferred_change_weekdays = fields.List(
        fields.Integer(validate=validate.Range(min=0, max=6)), validate=validate.Length(max=7)
    )
    notes = fields.String(validate=validate.Length(max=1000), allow_none=True)
    status = one_of(COURSE_STATUSES, dump_only=True)
    started_at = fields.DateTime(allow_none=True, dump_only=True)
    ended_at = fields.DateTime(allow_none=True, dump_only=True)
    warnings = fields.Method("dump_warnings", dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def dump_warnings(self, course):
        warnings = courses.warnings_for(context.session(), course)
        return WarningSchema(many=True).dump(warnings)


class CourseQueryArgs(PageArgs):
    patient_id = fields.Integer()
    site_id = fields.Integer()
    study_code = fields.String(metadata={"description": "the patient's study code, e.g. W-001"})
    status = one_of(COURSE_STATUSES)


@blp.route("", methods=["GET", "POST"])
class Courses(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(CourseQueryArgs, location="query")
    @blp.response(200, page_of(CourseSchema))
    def get(self, args):
        """List courses"""
        return courses.list_courses(context.session(), context.scope(), **paging(args), **args)

    @allow(*WRITERS, sites=CREATES)
    @blp.arguments(CourseSchema)
    @blp.response(201, CourseSchema)
    def post(self, data):
        """Order a course (it starts as scheduled)"""
        course = courses.create_course(
            context.session(), context.clock(), data, context.rules()
        )
        context.commit()
        return course


@blp.route("/<int:course_id>", methods=["GET", "PATCH"])
class CourseById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, CourseSchema)
    def get(self, course_id):
        """Get a course, with clinical warnings"""
        return get_or_404(context.session(), Course, course_id)

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(CourseSchema(partial=True))
    @blp.response(200, CourseSchema)
    def patch(self, changes, course_id):
        """Change a course; the order fields are fixed once it has started"""
        course = courses.update_course(
            context.session(), context.clock(), course_id, changes, context.rules()
        )
        context.commit()
        return course
