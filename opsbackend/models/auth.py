from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record

ROLES = ("admin", "dispatcher", "nurse", "viewer")


class ApiToken(Record, table=True):
    """A bearer token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"
    __audit_redacted__ = ("token_hash",)

    name: str = Field(max_length=120)
    role: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True)
    # The first characters, so people can tell their tokens apart.
    token_prefix: str = Field(max_length=16)
    nurse_id: int | None = Field(default=None, foreign_key="nurse.id")
    created_by: str | None = Field(default=None, max_length=160)
    revoked_at: datetime | None = None


class ApiTokenSite(Record, table=True):
    """A site a token acts for. A token without any is global: admins only."""

    __tablename__ = "api_token_site"
    __table_args__ = (UniqueConstraint("token_id", "site_id"),)

    token_id: int = Field(foreign_key="api_token.id", index=True)
    site_id: int = Field(foreign_key="site.id", index=True)
