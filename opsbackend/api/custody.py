"""Prepared bags and their chain of custody: pharmacy release, hand-overs to the unit's van
and the home, fridge and room storage, temperature readings."""

from flask import g
from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import one_of, utc_datetime
from opsbackend.api.site_policy import RECORD
from opsbackend.domain.infusion import bag_custody
from opsbackend.models.custody import (
    CUSTODY_KINDS,
    CUSTODY_PLACES,
    PREPARED_BAG_STATUSES,
    STORAGE_KINDS,
)

blp = Blueprint("custody", __name__, url_prefix="/api/v1",
                description="Prepared bags: the label and the chain of custody until hung")
ID = validate.Range(min=1, max=2**31 - 1)
# Who held the bag: not for viewers (monitors see the chain, not the people).
PEOPLE = ("handed_by", "received_by", "notes")


def label_text(max_length: int, **kwargs) -> fields.String:
    """Text from a label or a barcode: printable, no control characters (nor NUL)."""
    return fields.String(validate=validate.Regexp(
        rf"^[^\x00-\x1f\x7f]{{1,{max_length}}}$",
        error=f"1 to {max_length} printable characters"), **kwargs)


def lot_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$",
        error="a lot number: letters, digits, '.', '/' or '-', at most 40"), **kwargs)


class CustodyEventSchema(Schema):
    phi_fields = ("handed_by", "received_by", "notes")

    id = fields.Integer(dump_only=True)
    kind = one_of(CUSTODY_KINDS, required=True, metadata={
        "description": "handed_over, stored (into or out of the fridge), temperature (a "
                       "reading) or discarded; released and hung are written by the "
                       "release and the bag change"})
    occurred_at = utc_datetime(metadata={"description": "default: now"})
    place = one_of(CUSTODY_PLACES, metadata={"description": "default: where it was"})
    location = label_text(120, allow_none=True)
    unit_id = fields.Integer(validate=ID, allow_none=True)
    nurse_id = fields.Integer(validate=ID, allow_none=True)
    handed_by = label_text(120, allow_none=True)
    received_by = label_text(120, allow_none=True)
    storage = one_of(STORAGE_KINDS, allow_none=True,
                     metadata={"description": "where it is kept from now on"})
    temperature_c = fields.Float(validate=validate.Range(min=-40, max=60), allow_none=True)
    notes = label_text(300, allow_none=True)


class NewCustodyEventSchema(CustodyEventSchema):
    kind = one_of(("handed_over", "stored", "temperature", "discarded"), required=True)


class StorageSchema(Schema):
    room_hours = fields.Float(metadata={"description": "out of the fridge so far"})
    fridge_hours = fields.Float()
    excursions = fields.List(fields.Dict(), metadata={
        "description": "readings out of range: at, celsius, storage"})


class PreparedBagSchema(Schema):
    id = fields.Integer(dump_only=True)
    course_id = fields.Integer(dump_only=True)
    pharmacy_bag_id = label_text(120, required=True)
    lot = lot_field(allow_none=True)
    expires_at = utc_datetime(allow_none=True)
    volume_ml = fields.Float(validate=validate.Range(min=1, max=1000), allow_none=True)
    prepared_at = utc_datetime(allow_none=True)
    status = one_of(PREPARED_BAG_STATUSES, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ReleaseSchema(PreparedBagSchema):
    """The pharmacy's release: the label, and the first link of the chain."""

    released_at = utc_datetime(load_only=True, metadata={"description": "default: now"})
    location = label_text(120, load_only=True)
    handed_by = label_text(120, load_only=True)
    received_by = label_text(120, load_only=True)
    unit_id = fields.Integer(validate=ID, load_only=True)
    nurse_id = fields.Integer(validate=ID, load_only=True)
    storage = one_of(STORAGE_KINDS, load_only=True, metadata={"description": "default fridge"})
    temperature_c = fields.Float(validate=validate.Range(min=-40, max=60), load_only=True)


class PreparedBagDetailSchema(PreparedBagSchema):
    custody = fields.List(fields.Nested(CustodyEventSchema), dump_only=True)
    storage = fields.Nested(StorageSchema, dump_only=True, metadata={
        "description": "up to now, or to the hanging"})


@blp.route("/courses/<int:course_id>/prepared-bags", methods=["GET", "POST"])
class PreparedBags(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, PreparedBagSchema(many=True))
    @blp.alt_response(404, response="DEFAULT_ERROR")
    def get(self, course_id):
        """The bags the pharmacy released for the course"""
        return bag_custody.list_prepared_bags(context.session(), context.scope(), course_id)

    @allow(*STAFF, sites=RECORD)
    @blp.arguments(ReleaseSchema)
    @blp.response(201, PreparedBagDetailSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="already released")
    def post(self, data, course_id):
        """The pharmacy releases a prepared bag (label and first custody link)"""
        prepared = bag_custody.release_bag(context.session(), context.scope(), context.clock(),
                                           course_id, data, context.rules())
        context.commit()
        return _detail(prepared.id)


@blp.route("/prepared-bags/<int:prepared_bag_id>", methods=["GET"])
class PreparedBagById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, PreparedBagDetailSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    def get(self, prepared_bag_id):
        """A prepared bag with its chain of custody and its storage so far"""
        return _detail(prepared_bag_id)


@blp.route("/prepared-bags/<int:prepared_bag_id>/custody", methods=["POST"])
class Custody(MethodView):
    @allow(*STAFF, sites=RECORD)
    @blp.arguments(NewCustodyEventSchema)
    @blp.response(201, CustodyEventSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="the bag was hung or "
                      "discarded")
    def post(self, data, prepared_bag_id):
        """Add a link: a hand-over, a move into or out of the fridge, a reading, a discard"""
        event = bag_custody.add_event(context.session(), context.scope(), context.clock(),
                                      prepared_bag_id, data, context.rules())
        context.commit()
        return event


def _detail(prepared_bag_id: int) -> dict:
    detail = bag_custody.prepared_bag_detail(context.session(), context.scope(),
                                             context.clock(), prepared_bag_id, context.rules())
    if g.token.role == "viewer":
        detail["custody"] = [{k: v for k, v in event.model_dump().items() if k not in PEOPLE}
                             for event in detail["custody"]]
    return detail
