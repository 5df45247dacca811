"""What every table shares: an integer key and UTC created/updated times."""

from datetime import datetime

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

# Named constraints, so migrations (and SQLite batch mode) can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Record(SQLModel):
    """Base of every table: ``created_at``/``updated_at`` come from the clock at flush."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime | None = Field(default=None, nullable=False)
    updated_at: datetime | None = Field(default=None, nullable=False)


def json_list(**kwargs):
    """A JSON column holding a list (skills, required skills)."""
    return Field(default_factory=list, sa_type=JSON, nullable=False, **kwargs)


def json_dict(**kwargs):
    return Field(default_factory=dict, sa_type=JSON, nullable=False, **kwargs)
