from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record


class UserAccount(Record, table=True):
    """A person who signs in to the board: a role and (unless a global admin) sites."""

    __tablename__ = "user_account"
    __audit_redacted__ = ("password_hash",)

    email: str = Field(max_length=254, unique=True)
    role: str = Field(max_length=20)
    # werkzeug's scrypt hash ("scrypt:32768:8:1$salt$hash").
    password_hash: str = Field(max_length=255)
    # Wrong passwords since the last good one; at the limit the account locks for a while.
    failed_sign_ins: int = Field(default=0)
    locked_until: datetime | None = None
    last_sign_in_at: datetime | None = None
    disabled_at: datetime | None = None


class UserAccountSite(Record, table=True):
    """One site a user acts for (the board shows only these sites' records)."""

    __tablename__ = "user_account_site"
    __table_args__ = (UniqueConstraint("user_account_id", "site_id"),)

    user_account_id: int = Field(foreign_key="user_account.id", index=True)
    site_id: int = Field(foreign_key="site.id")
