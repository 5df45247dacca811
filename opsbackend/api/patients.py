from flask.views import MethodView
from marshmallow import ValidationError, validate, validates_schema

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    PhoneNumber,
    TimeZoneName,
    language,
    one_of,
    page_of,
    paging,
    short_text,
)
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry import patients
from opsbackend.models import Patient
from opsbackend.models.patient import GEOCODE_STATUSES, PATIENT_STATUSES

blp = Blueprint(
    "patients", __name__, url_prefix="/api/v1/patients",
    description="Patients, their home and their family contacts",
)
WRITERS = ("admin", "dispatcher")


class HomeSchema(Schema):
    address_line1 = short_text(200, required=True)
    address_line2 = fields.String(validate=validate.Length(max=200), allow_none=True)
    city = short_text(100, required=True)
    state = fields.String(validate=validate.Length(max=50), allow_none=True)
    postal_code = short_text(20, required=True)
    country = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$"), load_default="US")
    lat = fields.Float(validate=validate.Range(min=-90, max=90), allow_none=True)
    lon = fields.Float(validate=validate.Range(min=-180, max=180), allow_none=True)
    landline_phone = PhoneNumber(allow_none=True)
    access_notes = fields.String(validate=validate.Length(max=500), allow_none=True)
    geocode_status = one_of(GEOCODE_STATUSES, dump_only=True)
    geocode_detail = fields.String(allow_none=True, dump_only=True)
    geocoded_at = fields.DateTime(allow_none=True, dump_only=True)

    @validates_schema
    def lat_and_lon_together(self, data, **_kwargs):
        if ("lat" in data) != ("lon" in data) or (data.get("lat") is None) != (
            data.get("lon") is None
        ):
            raise ValidationError("give lat and lon together", "lat")


class ContactSchema(Schema):
    phi_fields = ("name", "phone")

    id = fields.Integer(dump_only=True)
    name = short_text(120, required=True)
    relationship = short_text(40, required=True, metadata={"example": "mother"})
    phone = PhoneNumber(required=True)
    language = language(load_default="en")
    is_primary = fields.Boolean()
    opted_out = fields.Boolean(dump_only=True)
    quiet_hours_start = fields.Time(metadata={"example": "21:00:00"})
    quiet_hours_end = fields.Time(metadata={"example": "07:00:00"})
    timezone = TimeZoneName(allow_none=True)


class PatientSchema(Schema):
    phi_fields = ("first_name", "date_of_birth", "home", "contacts")

    id = fields.Integer(dump_only=True)
    site_id = fields.Integer(required=True)
    study_code = short_text(40, required=True, metadata={"example": "AALL-0042"})
    first_name = fields.String(validate=validate.Length(max=80), allow_none=True)
    date_of_birth = fields.DateOfBirth(allow_none=True)
    age_months = fields.Integer(validate=validate.Range(min=0, max=300), allow_none=True)
    weight_kg = fields.Float(required=True, validate=validate.Range(min=0.3, max=300))
    language = language(load_default="en")
    status = one_of(PATIENT_STATUSES)
    home = fields.Nested(HomeSchema, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema),
                           validate=validate.Length(max=patients.MAX_CONTACTS))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    @validates_schema
    def birth_or_age(self, data, partial=False, **_kwargs):
        birth = data.get("date_of_birth")
        if birth is not None and birth > context.clock().now().date():
            raise ValidationError("date of birth is in the future", "date_of_birth")
        if not partial and birth is None and data.get("age_months") is None:
            raise ValidationError("give date_of_birth or age_months", "date_of_birth")


class PatientChangeSchema(PatientSchema):
    """A change: any field, and the home replaced or edited; contacts have their own routes."""

    class Meta:
        exclude = ("contacts",)


class PatientQueryArgs(PageArgs):
    site_id = fields.Integer()
    geocode_status = one_of(GEOCODE_STATUSES, metadata={"description": "needs_review: check"})
    status = one_of(PATIENT_STATUSES)
    study_code = fields.String()


@blp.route("", methods=["GET", "POST"])
class Patients(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(PatientQueryArgs, location="query")
    @blp.response(200, page_of(PatientSchema))
    def get(self, args):
        """List patients"""
        return patients.list_patients(context.session(), context.scope(), **paging(args), **args)

    @allow(*WRITERS, sites=CREATES)
    @blp.arguments(PatientSchema)
    @blp.response(201, PatientSchema)
    def post(self, data):
        """Enrol a patient, with their home and contacts"""
        patient = patients.create_patient(context.session(), data, context.locate_home())
        context.commit()
        return patient


@blp.route("/<int:patient_id>", methods=["GET", "PATCH"])
class PatientById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, PatientSchema)
    def get(self, patient_id):
        """Get a patient with home and contacts"""
        return get_or_404(context.session(), Patient, patient_id)

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(PatientChangeSchema(partial=True))
    @blp.response(200, PatientSchema)
    def patch(self, changes, patient_id):
        """Change a patient or their home"""
        patient = patients.update_patient(
            context.session(), patient_id, changes, context.locate_home()
        )
        context.commit()
        return patient


@blp.route("/<int:patient_id>/contacts", methods=["GET", "POST"])
class Contacts(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, ContactSchema(many=True))
    def get(self, patient_id):
        """List a patient's family contacts"""
        return get_or_404(context.session(), Patient, patient_id).contacts

    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(ContactSchema)
    @blp.response(201, ContactSchema)
    def post(self, data, patient_id):
        """Add a family contact"""
        contact = patients.add_contact(context.session(), patient_id, data)
        context.commit()
        return contact


@blp.route("/<int:patient_id>/contacts/<int:contact_id>", methods=["PATCH", "DELETE"])
class ContactById(MethodView):
    @allow(*WRITERS, sites=RECORD)
    @blp.arguments(ContactSchema(partial=True))
    @blp.response(200, ContactSchema)
    def patch(self, changes, patient_id, contact_id):
        """Change a family contact"""
        contact = patients.update_contact(context.session(), patient_id, contact_id, changes)
        context.commit()
        return contact

    @allow(*WRITERS, sites=RECORD)
    @blp.response(204)
    def delete(self, patient_id, contact_id):
        """Remove a family contact"""
        patients.remove_contact(context.session(), patient_id, contact_id)
        context.commit()
