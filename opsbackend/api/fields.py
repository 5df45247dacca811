"""Marshmallow fields and schemas shared by every resource."""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from marshmallow import ValidationError, fields, validate

from opsbackend.api.field_visibility import Schema
from opsbackend.domain.registry.phones import InvalidPhoneNumber, to_e164
from opsbackend.models.patient import LANGUAGES

MAX_PAGE_SIZE = 200


class PhoneNumber(fields.String):
    """Accepts a number as people type it and gives it back in E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return to_e164(raw, current_app.config["DEFAULT_PHONE_REGION"])
        except InvalidPhoneNumber as exc:
            raise ValidationError(
                "Not a valid phone number; give it in international form, e.g. +14155552671."
            ) from exc


class TimeZoneName(fields.String):
    """An IANA time zone name such as America/New_York."""

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(
                "Not a known IANA time zone (e.g. America/New_York)."
            ) from exc
        return name


class UtcDateTime(fields.AwareDateTime):
    """ISO 8601; a time without an offset is taken as UTC; stored and shown in UTC."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).astimezone(UTC)


def utc_datetime(**kwargs) -> UtcDateTime:
    return UtcDateTime(**kwargs)


def one_of(choices, **kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(choices), **kwargs)


def language(**kwargs) -> fields.String:
    return one_of(LANGUAGES, **kwargs)


def skills(**kwargs) -> fields.List:
    slug = fields.String(
        validate=validate.Regexp(
            r"^[a-z][a-z0-9_]{0,39}$", error="Skills are lowercase slugs such as 'infant'."
        )
    )
    return fields.List(slug, validate=validate.Length(max=30), **kwargs)


def short_text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    page_size = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list response: ``{"items": [...], "total", "page", "page_size"}``."""
    label = item_schema.__name__.removesuffix("Schema")
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
        },
        name=f"{label}Page",
    )


def paging(args: dict) -> dict:
    """Split the page arguments off the filters."""
    return {"page": args.pop("page"), "page_size": args.pop("page_size")}
