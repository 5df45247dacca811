"""People who sign in to the board: accounts, passwords, lockout, and their Scope.

Passwords are hashed with werkzeug's scrypt (memory-hard, salted; werkzeug is Flask's own
dependency). After ``MAX_FAILED_SIGN_INS`` wrong passwords in a row the account refuses
every password, the right one too, for ``LOCKOUT``; the counter is taken under the row's
lock, so parallel guesses cannot slip past the limit.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.scope import Scope
from opsbackend.models import Site, UserAccount, UserAccountSite
from opsbackend.models.auth import ROLES

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
# Checked when the email is unknown, so that case takes as long as a wrong password.
_UNKNOWN_USER_HASH = generate_password_hash("not a password of anyone", method="scrypt")


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in attempt: ``user`` on success, else why not."""

    user: UserAccount | None = None
    locked: bool = False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, *, email: str, role: str, password: str,
                site_ids: list[int]) -> UserAccount:
    email = normalise_email(email)
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role")
    if "@" not in email or len(email) > 254:
        raise Invalid("email must be an email address", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must have at least {MIN_PASSWORD_LENGTH} characters",
                      field="password")
    if not site_ids and role != "admin":
        raise Invalid("a user other than a global admin needs at least one site", field="site")
    known = set(session.scalars(select(Site.id).where(Site.id.in_(site_ids))))
    if missing := sorted(set(site_ids) - known):
        raise Invalid(f"no site with id {missing[0]}", field="site")
    if session.scalar(select(UserAccount.id).where(UserAccount.email == email)) is not None:
        raise Conflict(f"a user with email {email} exists", field="email")
    user = UserAccount(email=email, role=role,
                       password_hash=generate_password_hash(password, method="scrypt"))
    session.add(user)
    session.flush()
    session.add_all(UserAccountSite(user_account_id=user.id, site_id=site_id)
                    for site_id in sorted(set(site_ids)))
    session.flush()
    return user


def sign_in(session: Session, clock: Clock, email: str, password: str) -> SignIn:
    """Check the password; count a wrong one and lock at the limit. The caller commits."""
    user = session.scalars(
        select(UserAccount).where(UserAccount.email == normalise_email(email))
        .with_for_update(key_share=True)
    ).first()
    if user is None or user.disabled_at is not None:
        check_password_hash(_UNKNOWN_USER_HASH, password)
        return SignIn()
    now = clock.now()
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(locked=True)
    if not check_password_hash(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            user.locked_until, user.failed_sign_ins = now + LOCKOUT, 0
        session.flush()
        return SignIn(locked=user.locked_until is not None and user.locked_until > now)
    user.failed_sign_ins, user.locked_until, user.last_sign_in_at = 0, None, now
    session.flush()
    return SignIn(user=user)


def active_user(session: Session, user_id: int) -> UserAccount | None:
    user = session.get(UserAccount, user_id)
    return user if user is not None and user.disabled_at is None else None


def scope_of(session: Session, user: UserAccount) -> Scope:
    """The user's Scope: the same site rule the API applies to a token."""
    site_ids = frozenset(session.scalars(
        select(UserAccountSite.site_id).where(UserAccountSite.user_account_id == user.id)))
    if user.role == "admin" and not site_ids:
        return Scope(role="admin")  # a global admin
    return Scope(role=user.role, site_ids=site_ids)


def demo_password(secret_key: str, email: str) -> str:
    """A stable password for a demo user, derived from SECRET_KEY (never used in
    production: seed-demo refuses to run there)."""
    digest = hmac.new(secret_key.encode(), f"demo-password:{email}".encode(), hashlib.sha256)
    return f"demo-{digest.hexdigest()[:16]}"
