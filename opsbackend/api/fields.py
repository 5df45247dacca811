"""The marshmallow fields every API schema uses: values the database can hold, or a 422.

Import this module where you would import marshmallow's::

    from opsbackend.api import fields

    class ThingSchema(Schema):
        id = fields.Integer(dump_only=True)
        site_id = fields.record_id(required=True)
        name = fields.short_text(80, required=True)

``Integer``, ``String``, ``Float``, ``DateTime``, ``Date`` and ``Time`` here have the
names of marshmallow's and refuse what a hostile client sends and the database cannot
store: integers outside PostgreSQL's ``integer`` (or with a fraction), text with NUL or
lone surrogates (and over a declared maximum length), datetimes outside 1900..2100 or with
an offset beyond ±14:00, times of day with an offset. ``tests/test_schema_fields.py`` walks
every schema and fails on a field taken straight from marshmallow.
"""

import math
import numbers
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from marshmallow import ValidationError, validate
from marshmallow import fields as _fields

from opsbackend.api.field_visibility import Schema
from opsbackend.domain.registry.phones import InvalidPhoneNumber, has_extension, to_e164
from opsbackend.models.patient import LANGUAGES

# Containers and computed fields hold nothing of their own to check: use them as they are.
Nested = _fields.Nested
List = _fields.List
Dict = _fields.Dict
Function = _fields.Function
Method = _fields.Method

MAX_PAGE_SIZE = 200
# PostgreSQL's ``integer``: ids, foreign keys and counts live in such columns.
MAX_INT = 2**31 - 1
MAX_ID = MAX_INT
# The longest text a field takes unless it says otherwise.
DEFAULT_MAX_LENGTH = 2000
# A clinical record has no year 1 or 9999; these bounds keep every UTC conversion and
# every "+ 28 days" inside what Python and the databases can hold.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_OFFSET = timedelta(hours=14)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
DIGITS = re.compile(r"^[+-]?[0-9]{1,12}$")


class Integer(_fields.Integer):
    from_text = False  # set by read_from_text() on query-string schemas

    """A whole number in PostgreSQL's ``integer`` range (or ``minimum``..``maximum``).

    24.5 is refused, not truncated; 24.0 is 24; "24" only in a query string (``from_text``)."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def __init__(self, *, minimum: int = -MAX_INT, maximum: int = MAX_INT, **kwargs):
        bounds = validate.Range(min=minimum, max=maximum)
        given = kwargs.pop("validate", None)
        extra = [] if given is None else (list(given) if isinstance(given, list | tuple)
                                          else [given])
        super().__init__(validate=[bounds, *extra], **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, str) and self.from_text and DIGITS.match(value.strip()):
            return int(value.strip())
        raise self.make_error("invalid", input=value)


def record_id(**kwargs) -> Integer:
    """An id or a reference to one: 1..2^31-1 (PostgreSQL ``integer``)."""
    return Integer(minimum=1, maximum=MAX_ID, **kwargs)


class Boolean(_fields.Boolean):
    """JSON's true or false (1, 0, "yes" are refused in a body); a query string may say
    true/false, 1/0, yes/no (``from_text``)."""

    from_text = False  # set by read_from_text() on query-string schemas

    def _deserialize(self, value, attr, data, **kwargs):
        if not self.from_text and not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class Float(_fields.Float):
    """A finite number (no NaN, no infinity), within ±1e9 unless bounded tighter."""

    def __init__(self, **kwargs):
        given = kwargs.pop("validate", None)
        extra = [] if given is None else (list(given) if isinstance(given, list | tuple)
                                          else [given])
        super().__init__(allow_nan=False, validate=[validate.Range(min=-1e9, max=1e9), *extra],
                         **kwargs)

    from_text = False  # set by read_from_text() on query-string schemas

    def _validated(self, value):
        if isinstance(value, bool) or (isinstance(value, str) and not self.from_text):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def storable(value: str) -> bool:
    """Text the database can hold: no NUL, no lone surrogate."""
    return "\x00" not in value and not LONE_SURROGATE.search(value)


def _no_unstorable_characters(value: str) -> None:
    if storable(value):
        return
    raise ValidationError("Text may not contain NUL characters." if "\x00" in value
                          else "Text may not contain lone surrogates (invalid Unicode).")


class String(_fields.String):
    """Text without NUL or lone surrogates, trimmed (``strip=False`` keeps the spaces),
    at most ``max_length`` characters (declared in the document as maxLength). Blank text
    in a free-text field that may be null is null: "" is no state, no second address line
    (a choice or a non-blank field refuses it, as its enum or minLength says)."""

    def __init__(self, *, max_length: int = DEFAULT_MAX_LENGTH, min_length: int | None = None,
                 strip: bool = True, **kwargs):
        self.strip = strip
        self.max_length = max_length
        given = kwargs.pop("validate", None)
        extra = [] if given is None else (list(given) if isinstance(given, list | tuple)
                                          else [given])
        # Blank becomes null only where the document admits "" (no minLength, no enum):
        # elsewhere "" is refused as the document says, not quietly taken as null.
        self.blank_is_null = not min_length and not any(
            isinstance(check, validate.OneOf) for check in extra)
        super().__init__(
            validate=[validate.Length(min=min_length, max=max_length),
                      _no_unstorable_characters, *extra],
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        # The document's maxLength is a promise about what a client sends, so the
        # length is checked before trimming: text one character too long is refused
        # even when that character is a space we would have dropped.
        if len(text) > self.max_length:
            raise ValidationError(f"Longer than maximum length {self.max_length}.")
        text = text.strip() if self.strip else text
        return None if text == "" and self.allow_none and self.blank_is_null else text

    def _validate(self, value):
        if value is not None:  # blank made null: nothing left to check
            super()._validate(value)


def short_text(max_length: int, **kwargs) -> String:
    """Text that means something only when not blank: a name, a code."""
    return String(max_length=max_length, min_length=1, **kwargs)


def text(max_length: int, **kwargs) -> String:
    """Non-blank text of at most ``max_length`` characters (the dispatcher-day name)."""
    return short_text(max_length, **kwargs)


def one_of(choices, **kwargs) -> String:
    longest = max((len(choice) for choice in choices), default=1)
    return String(max_length=longest, validate=validate.OneOf(choices), **kwargs)


def language(**kwargs) -> String:
    return one_of(LANGUAGES, **kwargs)


def skills(**kwargs) -> List:
    slug = String(
        max_length=40,
        validate=validate.Regexp(
            r"^[a-z][a-z0-9_]{0,39}$", error="Skills are lowercase slugs such as 'infant'."
        ),
    )
    return List(slug, validate=validate.Length(max=30), **kwargs)


def digits(min_length: int, max_length: int, **kwargs) -> String:
    """ASCII digits only (a PIN): not Arabic-Indic or full-width digits."""
    return String(
        max_length=max_length,
        validate=validate.Regexp(rf"^[0-9]{{{min_length},{max_length}}}$",
                                 error=f"Give {min_length} to {max_length} digits 0-9."),
        **kwargs,
    )


class PhoneNumber(String):
    """Accepts a number as people type it and gives it back in E.164. An extension is
    refused (it cannot be texted or dialled by the phone steps), not silently dropped."""

    def __init__(self, **kwargs):
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        if raw is None:  # blank, in a field that may be null
            return None
        _no_unstorable_characters(raw)
        try:
            number = to_e164(raw, current_app.config["DEFAULT_PHONE_REGION"])
        except InvalidPhoneNumber as exc:
            raise ValidationError(
                "Not a valid phone number; give it in international form, e.g. +14155552671."
            ) from exc
        if has_extension(raw, current_app.config["DEFAULT_PHONE_REGION"]):
            raise ValidationError("Phone extensions are not supported; give a direct number.")
        return number


class TimeZoneName(String):
    """An IANA time zone name such as America/New_York."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        name = super()._deserialize(value, attr, data, **kwargs)
        if name is None:  # blank, in a field that may be null
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValidationError(
                "Not a known IANA time zone (e.g. America/New_York)."
            ) from exc
        return name


class DateTime(_fields.AwareDateTime):
    """ISO 8601 between 1900 and 2100 with a real offset (-14:00..+14:00); a time without an
    offset is taken as UTC; stored and shown in UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 64:
            raise self.make_error("invalid", input=value, obj_type="datetime")
        moment = super()._deserialize(value, attr, data, **kwargs)
        offset = moment.utcoffset()
        if offset is None or abs(offset) > MAX_OFFSET:
            raise ValidationError("The UTC offset must be between -14:00 and +14:00.")
        # The year first: converting 0001-01-01T00:00+14:00 to UTC overflows.
        if not EARLIEST.year - 1 <= moment.year <= LATEST.year or not (
                EARLIEST <= moment < LATEST):
            raise ValidationError("Give a time between 1900-01-01 and 2100-01-01.")
        return moment.astimezone(UTC)


UtcDateTime = DateTime


def utc_datetime(**kwargs) -> DateTime:
    return DateTime(**kwargs)


class Date(_fields.Date):
    """A calendar date between 1900-01-01 and 2099-12-31."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 32:
            raise self.make_error("invalid", input=value, obj_type="date")
        day = super()._deserialize(value, attr, data, **kwargs)
        if not EARLIEST.date() <= day < LATEST.date():
            raise ValidationError("Give a date between 1900-01-01 and 2099-12-31.")
        return day


class DateOfBirth(Date):
    """A date of birth: not before 1900 and not in the future (the clock's today)."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day > _today():
            raise ValidationError("A date of birth cannot be in the future.")
        return day


def _today() -> date:
    return current_app.extensions["database"].clock.now().date()


class CourseStart(DateTime):
    """A course's planned start: within ``COURSE_START_WINDOW_DAYS`` of now (either way)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        days = current_app.extensions["settings"].course_start_window_days
        now = current_app.extensions["database"].clock.now()
        if abs(moment - now) > timedelta(days=days):
            raise ValidationError(f"A course starts within {days} days of now.")
        return moment


class Time(_fields.Time):
    """A local time of day (quiet hours, shift times): an offset is refused, not dropped."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 32:
            raise self.make_error("invalid", input=value, obj_type="time")
        moment: time = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            raise ValidationError("Give a local time without an offset, e.g. 21:00.")
        return moment


def read_from_text(schema: Schema) -> Schema:
    """Numbers in a query string or a path arrive as text: let this schema's numeric fields
    read "12" (a JSON body must send a number). ``Blueprint.arguments`` calls it."""
    for field in schema.fields.values():
        if isinstance(field, Integer | Float | Boolean):
            field.from_text = True
        elif isinstance(field, List) and isinstance(field.inner, Integer | Float | Boolean):
            field.inner.from_text = True
    return schema


class PageArgs(Schema):
    page = Integer(load_default=1, minimum=1, maximum=100_000)
    page_size = Integer(load_default=50, minimum=1, maximum=MAX_PAGE_SIZE)


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The list response: ``{"items": [...], "total", "page", "page_size"}``."""
    label = item_schema.__name__.removesuffix("Schema")
    return Schema.from_dict(
        {
            "items": List(Nested(item_schema)),
            "total": Integer(minimum=0),
            "page": Integer(minimum=1),
            "page_size": Integer(minimum=1, maximum=MAX_PAGE_SIZE),
        },
        name=f"{label}Page",
    )


def paging(args: dict) -> dict:
    """Split the page arguments off the filters."""
    return {"page": args.pop("page"), "page_size": args.pop("page_size")}


class PatientArea(Schema):
    """What a dispatcher reads beside a patient id: the study code and the home's area."""

    phi_fields = ("city", "postal_code")

    study_code = String(allow_none=True)
    city = String(allow_none=True, metadata={"description": "the home's city"})
    postal_code = String(allow_none=True)
