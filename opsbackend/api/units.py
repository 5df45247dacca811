from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    one_of,
    page_of,
    paging,
    short_text,
    skills,
    utc_datetime,
)
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.dispatch import lateness
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry import units
from opsbackend.models import Unit
from opsbackend.models.unit import UNIT_STATUSES

blp = Blueprint(
    "units", __name__, url_prefix="/api/v1/units", description="Mobile infusion units"
)
WRITERS = ("admin", "dispatcher")


class ShiftSchema(Schema):
    """One block of the weekly pattern, in the site's local time (Monday = 0)."""

    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6))
    starts_at = fields.Time(required=True, metadata={"example": "07:00:00"})
    ends_at = fields.Time(required=True, metadata={"example": "19:00:00"})


class UnitSchema(Schema):
    phi_fields = ("base_lat", "base_lon", "last_lat", "last_lon")

    id = fields.Integer(dump_only=True)
    call_sign = short_text(40, required=True, metadata={"example": "WEST-1"})
    site_id = fields.Integer(required=True)
    base_lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    base_lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    skills = skills(load_default=list)
    status = one_of(UNIT_STATUSES)
    shifts = fields.List(fields.Nested(ShiftSchema), validate=validate.Length(max=50))
    last_lat = fields.Float(allow_none=True, dump_only=True)
    last_lon = fields.Float(allow_none=True, dump_only=True)
    last_located_at = fields.DateTime(allow_none=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class UnitQueryArgs(PageArgs):
    site_id = fields.Integer()
    status = one_of(UNIT_STATUSES)
    skill = fields.String()


@blp.route("", methods=["GET", "POST"])
class Units(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(UnitQueryArgs, location="query")
    @blp.response(200, page_of(UnitSchema))
    def get(self, args):
        """List units"""
        return units.list_units(context.session(), context.scope(), **paging(args), **args)

    @allow(*WRITERS, sites=CREATES)
    @blp.arguments(UnitSchema)
    @blp.response(201, UnitSchema)
    def post(self, data):
        """Create a unit with its weekly shifts"""
        unit = units.create_unit(context.session(), data)
        context.commit()
        return unit


@blp.route("/<int:unit_id>", methods=["GET", "PATCH"])
class UnitById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, UnitSchema)
    def get(self, unit_id):
        """Get a unit"""
        return get_or_404(context.session(), Unit, unit_id)

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(UnitSchema(partial=True))
    @blp.response(200, UnitSchema)
    def patch(self, changes, unit_id):
        """Change a unit; ``shifts`` replaces the weekly pattern"""
        unit = units.update_unit(context.session(), unit_id, changes)
        context.commit()
        return unit


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    at = utc_datetime(metadata={"description": "when the unit was there (default: now)"})


class ShiftExceptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    on_date = fields.Date(required=True)
    starts_at = fields.Time(allow_none=True, load_default=None,
                            metadata={"description": "empty with ends_at: off all day"})
    ends_at = fields.Time(allow_none=True, load_default=None)
    reason = fields.String(validate=validate.Length(max=200), allow_none=True)


@blp.route("/<int:unit_id>/location", methods=["POST"])
class UnitLocation(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.arguments(LocationSchema)
    @blp.response(200, UnitSchema)
    @blp.errors(404)
    def post(self, data, unit_id):
        """Report where the unit is now; a late visit it heads for gets an ETA from here"""
        unit = lateness.unit_position(context.session(), context.clock(), context.scope(),
                                      unit_id, data["lat"], data["lon"], context.travel(),
                                      data.get("at"))
        context.commit()
        return unit


@blp.route("/<int:unit_id>/shift-exceptions", methods=["GET", "POST"])
class ShiftExceptions(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, ShiftExceptionSchema(many=True))
    def get(self, unit_id):
        """Dates where the weekly pattern does not apply"""
        return units.list_shift_exceptions(context.session(), unit_id)

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(ShiftExceptionSchema)
    @blp.response(201, ShiftExceptionSchema)
    def post(self, data, unit_id):
        """Add an exception: other hours on a date, or off all day"""
        exception = units.add_shift_exception(context.session(), unit_id, data)
        context.commit()
        return exception


@blp.route("/<int:unit_id>/shift-exceptions/<int:shift_exception_id>", methods=["DELETE"])
class ShiftExceptionById(MethodView):
    @allow(*WRITERS, sites=RECORD)
    @blp.response(204)
    def delete(self, unit_id, shift_exception_id):
        """Remove an exception"""
        units.remove_shift_exception(context.session(), unit_id, shift_exception_id)
        context.commit()
