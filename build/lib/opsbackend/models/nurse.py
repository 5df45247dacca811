from sqlmodel import Field

from opsbackend.models.base import Record, json_list


class Nurse(Record, table=True):
    """An infusion nurse, identified on the phone by a registered number or PIN."""

    __audit_redacted__ = ("pin_hash",)

    name: str = Field(max_length=120)
    phone: str = Field(max_length=20, unique=True)
    skills: list[str] = json_list()
    language: str = Field(default="en", max_length=8)
    active: bool = Field(default=True, index=True)
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    # The unit whose crew the nurse is on now.
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # For voice check-ins from a phone that is not the nurse's own.
    pin_hash: str | None = Field(default=None, max_length=200)
