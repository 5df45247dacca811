"""FHIR R4 export: ``GET /fhir/Patient/{id}`` and ``GET /fhir/Patient/{id}/$everything``.

Answers ``application/fhir+json`` (a client asking only for another format gets 406), and
on these routes every error is a FHIR ``OperationOutcome`` rather than our JSON error.
"""

import json

from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import INCLUDE
from werkzeug.exceptions import HTTPException

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.site_policy import RECORD
from opsbackend.domain.errors import DomainError
from opsbackend.domain.interop import fhir_export

FHIR_JSON = "application/fhir+json"
ACCEPTED = (FHIR_JSON, "application/json")
# HTTP status -> OperationOutcome issue type (the FHIR issue-type value set).
ISSUE_TYPES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
               405: "not-supported", 406: "not-supported", 409: "conflict",
               422: "processable"}

blp = Blueprint("fhir", __name__, url_prefix="/api/v1/fhir",
                description="FHIR R4 export (application/fhir+json; errors are "
                            "OperationOutcome resources)")


class FhirResourceSchema(Schema):
    """Documentation only: the body is a FHIR resource, validated by fhir.resources."""

    class Meta:
        unknown = INCLUDE

    resourceType = fields.String(required=True)  # FHIR spells it so


class PatientResourceSchema(FhirResourceSchema):
    class Meta:
        unknown = INCLUDE
        description = ("A FHIR R4 Patient: the study code as identifier (a system per site); "
                       "name, birth date, address and phone only for staff roles")


class BundleSchema(FhirResourceSchema):
    class Meta:
        unknown = INCLUDE
        description = ("A FHIR R4 searchset Bundle: the Patient (search mode match) and, "
                       "included, Organization, RelatedPerson, Practitioner, Location, "
                       "Device, MedicationAdministration (one per bag), Observation (pump "
                       "reports), Appointment (visits), Communication (SMS) and "
                       "DetectedIssue (protocol deviations)")


class OperationOutcomeSchema(FhirResourceSchema):
    class Meta:
        unknown = INCLUDE
        description = "A FHIR OperationOutcome: issue[].severity, code, diagnostics"


def _documented_errors(view):
    for status, why in ((401, "no or an unknown token"), (403, "role not allowed"),
                        (404, "no such patient for the caller"),
                        (406, "the client accepts no FHIR JSON")):
        view = blp.alt_response(status, schema=OperationOutcomeSchema, content_type=FHIR_JSON,
                                description=why)(view)
    return view


@blp.route("/Patient/<int:patient_id>", methods=["GET"])
class PatientRead(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, PatientResourceSchema, content_type=FHIR_JSON)
    @_documented_errors
    def get(self, patient_id):
        """The patient as a FHIR Patient resource"""
        _require_fhir_json()
        return _fhir(fhir_export.patient_resource(context.session(), context.scope(),
                                                  patient_id, _identifier_system()))


@blp.route("/Patient/<int:patient_id>/$everything", methods=["GET"])
class PatientEverything(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, BundleSchema, content_type=FHIR_JSON)
    @_documented_errors
    def get(self, patient_id):
        """Everything about the patient's infusion as a FHIR Bundle ($everything)"""
        _require_fhir_json()
        base = request.url_root.rstrip("/") + blp.url_prefix
        return _fhir(fhir_export.everything(context.session(), context.scope(),
                                            context.clock(), patient_id, base,
                                            _identifier_system()))


def operation_outcome(status: int, message: str) -> Response:
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": ISSUE_TYPES.get(status, "processing"),
         "diagnostics": message}]}
    return _fhir(fhir_export.validated(outcome), status)


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    context.session().rollback()
    return operation_outcome(error.status_code, error.message)


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # flask-smorest's abort() keeps its message and headers (WWW-Authenticate) in error.data.
    data = getattr(error, "data", None) or {}
    response = operation_outcome(error.code or 500, str(data.get("message")
                                                          or error.description))
    headers = [*error.get_headers(), *(data.get("headers") or {}).items()]
    for name, value in headers:
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _require_fhir_json() -> None:
    if request.headers.get("Accept") and request.accept_mimetypes.best_match(ACCEPTED) is None:
        from flask_smorest import abort

        abort(406, message=f"only {FHIR_JSON} is served here")


def _identifier_system() -> str:
    return current_app.extensions["settings"].fhir_identifier_system


def _fhir(resource: dict, status: int = 200) -> Response:
    return Response(json.dumps(resource), status=status, mimetype=FHIR_JSON)
