"""Every API schema is built from opsbackend.api.fields, and tells which values can be null."""

from marshmallow import Schema, class_registry
from marshmallow import fields as marshmallow_fields
from sqlmodel import SQLModel

from opsbackend.api import fields

# Containers and computed fields: what they hold is checked where it is declared.
CONTAINERS = (marshmallow_fields.Nested, marshmallow_fields.List, marshmallow_fields.Dict,
              marshmallow_fields.Function,
              marshmallow_fields.Method, marshmallow_fields.Pluck, marshmallow_fields.Constant)
HELP = ("use opsbackend.api.fields instead of marshmallow.fields (`from opsbackend.api import "
        "fields`): fields.Integer / fields.record_id(...) for ids, fields.String / "
        "fields.short_text(n) for text, fields.Float, fields.DateTime, fields.Date, "
        "fields.Time, fields.Boolean; they refuse what the database cannot hold")
# Response schemas named otherwise than their table.
SCHEMA_TABLES = {
    "TokenSchema": "ApiToken", "CallbackSchema": "CallbackRequest",
    "MessageSchema": "OutboundMessage", "PlanSchema": "DayPlan",
    "ScenarioSchema": "PlanningScenario", "StepSchema": "EscalationStep",
    "ShiftSchema": "UnitShift", "ShiftExceptionSchema": "UnitShiftException",
    "WebhookSchema": "WebhookSubscription", "DeliverySchema": "WebhookDelivery",
    "PreparedBagDetailSchema": "PreparedBag",
}


def api_schemas(app) -> list[type[Schema]]:
    """Every schema class the API modules define (the app imports them all)."""
    return [
        cls for name, classes in class_registry._registry.items() if "." not in name
        for cls in classes if cls.__module__.startswith("opsbackend.api")
    ]


def walk(field, where):
    yield field, where
    if isinstance(field, marshmallow_fields.List):
        yield from walk(field.inner, f"{where}[]")
    elif isinstance(field, marshmallow_fields.Dict):
        for part in (field.key_field, field.value_field):
            if part is not None:
                yield from walk(part, f"{where}{{}}")


def test_no_schema_takes_a_field_straight_from_marshmallow(app):
    bare = []
    for schema_class in api_schemas(app):
        for name, declared in schema_class._declared_fields.items():
            for field, where in walk(declared, f"{schema_class.__name__}.{name}"):
                safe = isinstance(field, CONTAINERS) or type(field).__module__ == fields.__name__
                if not safe:
                    bare.append(f"{where} is marshmallow.fields.{type(field).__name__}")

    assert bare == [], HELP + ":\n" + "\n".join(bare)


def test_the_page_fields_are_bounded():
    page_args = fields.read_from_text(fields.PageArgs())

    assert page_args.load({"page_size": "200"})["page_size"] == 200
    for bad in ({"page_size": "201"}, {"page_size": "0"}, {"page": "0"}, {"page": "1.5"}):
        assert page_args.validate(bad), bad


def test_a_json_body_sends_numbers_not_digits_in_text():
    assert fields.PageArgs().validate({"page": "2"}) == {"page": ["Not a valid integer."]}


def _tables() -> dict:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {model.__name__: model for model in subclasses(SQLModel) if hasattr(model, "__table__")}


def test_a_nullable_column_is_declared_nullable_where_a_schema_shows_it(app):
    tables = _tables()
    undeclared = []
    for schema_class in api_schemas(app):
        name = schema_class.__name__
        model = tables.get(SCHEMA_TABLES.get(name, name.removesuffix("Schema")))
        if model is None:
            continue
        for field_name, field in schema_class._declared_fields.items():
            column = model.__table__.columns.get(field.attribute or field_name)
            if column is not None and column.nullable and not field.allow_none:
                undeclared.append(f"{name}.{field_name}")

    assert undeclared == [], "give these allow_none=True (the column is nullable): " + ", ".join(
        undeclared)
