"""Fields the dispatcher's-day routes share: ids the database can hold, text without NUL.

(The hardening branch adds shared field types to ``fields.py``; these are the few these
routes need until the two meet.)
"""

from marshmallow import ValidationError, fields, validate

from opsbackend.api.field_visibility import Schema

MAX_ID = 2**31 - 1  # PostgreSQL integer


def record_id(**kwargs) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("Text may not contain NUL characters.")


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), _no_nul], **kwargs)


class PatientArea(Schema):
    """What a dispatcher reads beside a patient id: the study code and the home's area."""

    phi_fields = ("city", "postal_code")

    study_code = fields.String(allow_none=True)
    city = fields.String(allow_none=True, metadata={"description": "the home's city"})
    postal_code = fields.String(allow_none=True)
