"""Bearer API tokens: shown once, stored as a SHA-256, revocable.

Tokens carry 256 random bits, so a fast hash is enough: there is nothing to
brute-force the way there is with a password.
"""

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.models import ApiToken

TOKEN_PREFIX = "ops_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(
    session: Session, *, name: str, role: str, raw: str | None = None, created_by=None,
    nurse_id=None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the record and the raw token, which is never stored."""
    raw = raw or TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        role=role,
        token_hash=hash_token(raw),
        token_prefix=raw[:12],
        created_by=created_by,
        nurse_id=nurse_id,
    )
    session.add(token)
    session.flush()
    return token, raw


def authenticate(session: Session, raw: str) -> ApiToken | None:
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(raw))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    return token


def revoke_token(session: Session, clock: Clock, token_id: int) -> ApiToken:
    token = get_or_404(session, ApiToken, token_id)
    if token.revoked_at is not None:
        raise Conflict(f"token {token_id} was already revoked", field="token_id")
    token.revoked_at = clock.now()
    session.flush()
    return token


def list_tokens(session: Session, *, page: int, page_size: int, role=None, revoked=None) -> Page:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if role is not None:
        stmt = stmt.where(ApiToken.role == role)
    if revoked is not None:
        condition = ApiToken.revoked_at.is_not(None) if revoked else ApiToken.revoked_at.is_(None)
        stmt = stmt.where(condition)
    return paginate(session, stmt, page, page_size)


def demo_token(secret_key: str, role: str) -> str:
    """A stable token per role for the local demo, derived from SECRET_KEY.

    ``make run`` can print it on every start although only its hash is stored.
    """
    digest = hmac.new(secret_key.encode(), f"demo-token:{role}".encode(), hashlib.sha256)
    return f"{TOKEN_PREFIX}demo_{role}_{digest.hexdigest()[:32]}"
