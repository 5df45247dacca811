"""Minimum necessary: which response fields each role reads.

Staff (admins, dispatchers, nurses) read who and where: names, dates of birth,
addresses, coordinates, phone numbers. A viewer (a monitor, a sponsor) reads study
codes, schedules, statuses and deviations, never those. A schema lists its fields of
that kind in ``phi_fields``; they are left out of a viewer's responses and marked in the
OpenAPI document (``x-visible-to``).
"""

import marshmallow
from flask import g, has_request_context

# "system": jobs and the command line.
ROLES_SEEING_PHI = ("admin", "dispatcher", "nurse", "system")
VISIBLE_TO = sorted(set(ROLES_SEEING_PHI) - {"system"})


def sees_phi(role: str) -> bool:
    return role in ROLES_SEEING_PHI


def caller_sees_phi() -> bool:
    token = g.get("token") if has_request_context() else None
    return token is None or sees_phi(token.role)


class Schema(marshmallow.Schema):
    """A schema whose ``phi_fields`` only staff roles read."""

    phi_fields: tuple[str, ...] = ()

    def get_attribute(self, obj, attr, default):
        # A record's field is its attribute. marshmallow first asks hasattr(obj,
        # "__getitem__"), which on a SQLModel record goes through pydantic's __getattr__
        # and an AttributeError for every field of every record dumped (~2 % of a write).
        if "." not in attr and not hasattr(type(obj), "__getitem__"):
            return getattr(obj, attr, default)
        return super().get_attribute(obj, attr, default)

    @marshmallow.post_dump
    def _leave_out_phi(self, data, **_kwargs):
        if self.phi_fields and not caller_sees_phi():
            for name in self.phi_fields:
                field = self.fields.get(name)
                data.pop(field.data_key or name if field else name, None)
        return data


def mark_phi_fields(schema_class=Schema) -> None:
    """Say in the OpenAPI document which fields only staff read (before it is built)."""
    for cls in schema_class.__subclasses__():
        for name in cls.phi_fields:
            field = cls._declared_fields[name]
            field.metadata = {**field.metadata, "x-visible-to": VISIBLE_TO}
        mark_phi_fields(cls)


def not_required_of_viewers(spec) -> None:
    """A field only staff read is absent from a viewer's response, so the document lists
    none of them as required (after the blueprints are registered). Where a schema is also
    a request body, the 422 naming a missing field still says it is needed."""
    for component in spec.components.schemas.values():
        hidden = {name for name, prop in component.get("properties", {}).items()
                  if "x-visible-to" in prop}
        if hidden and component.get("required"):
            component["required"] = [n for n in component["required"] if n not in hidden]
            if not component["required"]:
                del component["required"]
