from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    PhoneNumber,
    language,
    page_of,
    paging,
    short_text,
    skills,
)
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry import nurse_pins, nurses
from opsbackend.models import Nurse

blp = Blueprint("nurses", __name__, url_prefix="/api/v1/nurses", description="Infusion nurses")
WRITERS = ("admin", "dispatcher")


class NurseSchema(Schema):
    phi_fields = ("name", "phone")

    id = fields.Integer(dump_only=True)
    name = short_text(120, required=True)
    phone = PhoneNumber(required=True)
    skills = skills(load_default=list, metadata={"example": ["pediatric", "infant"]})
    language = language(load_default="en")
    active = fields.Boolean()
    site_id = fields.Integer(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    # For a voice check-in from a home landline (with the nurse number, which is the id).
    pin = fields.String(load_only=True, allow_none=True,
                        validate=validate.Regexp(nurse_pins.PIN_FORMAT, error=nurse_pins.PIN_RULE))
    has_pin = fields.Function(lambda nurse: nurse.pin_hash is not None, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class NurseQueryArgs(PageArgs):
    site_id = fields.Integer()
    unit_id = fields.Integer()
    active = fields.Boolean()
    skill = fields.String()


@blp.route("", methods=["GET", "POST"])
class Nurses(MethodView):
    @allow(*STAFF, sites=LISTING)
    @blp.arguments(NurseQueryArgs, location="query")
    @blp.response(200, page_of(NurseSchema))
    def get(self, args):
        """List nurses"""
        return nurses.list_nurses(context.session(), context.scope(), **paging(args), **args)

    @allow(*WRITERS, sites=CREATES)
    @blp.arguments(NurseSchema)
    @blp.response(201, NurseSchema)
    def post(self, data):
        """Register a nurse"""
        nurse = nurses.create_nurse(context.session(), data)
        context.commit()
        return nurse


@blp.route("/<int:nurse_id>", methods=["GET", "PATCH"])
class NurseById(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.response(200, NurseSchema)
    def get(self, nurse_id):
        """Get a nurse"""
        return get_or_404(context.session(), Nurse, nurse_id)

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(NurseSchema(partial=True))
    @blp.response(200, NurseSchema)
    def patch(self, changes, nurse_id):
        """Change a nurse (skills, unit, phone, active, PIN)"""
        nurse = nurses.update_nurse(context.session(), nurse_id, changes)
        context.commit()
        return nurse
