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
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.records import Page, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import ApiToken, ApiTokenSite, Nurse, Site

TOKEN_PREFIX = "ops_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def grant_token(
    session: Session, granter: Scope, *, name: str, role: str, site_ids=(), nurse_id=None,
    raw: str | None = None, created_by=None,
) -> tuple[ApiToken, str]:
    """Issue a token after the rules of who may hold what (API and command line).

    A non-admin token belongs to one site or more; the granter gives only sites they hold
    (a site admin cannot mint a global token); a nurse token may speak for one nurse of
    its sites, and only a nurse token may.
    """
    sites = sorted(set(site_ids or ()))
    if not sites and role != "admin":
        raise Invalid(f"a {role} token needs at least one site: give site_ids", field="site_ids")
    if not sites and not granter.is_global:
        raise Invalid("only a global admin may issue a token without sites", field="site_ids")
    for site_id in sites:
        if not granter.covers(site_id):  # whether it exists is not theirs to learn
            raise Invalid(f"site {site_id} is not one of yours", field="site_ids")
        if session.get(Site, site_id) is None:
            raise Invalid(f"there is no site {site_id}", field="site_ids")
    if nurse_id is not None:
        _check_nurse(session, role, nurse_id, sites)
    return issue_token(session, name=name, role=role, raw=raw, created_by=created_by,
                       nurse_id=nurse_id, site_ids=sites or None)


def _check_nurse(session: Session, role: str, nurse_id: int, site_ids: list[int]) -> None:
    if role != "nurse":
        raise Invalid("only a nurse token speaks for a nurse", field="nurse_id")
    nurse = session.get(Nurse, nurse_id)
    if nurse is None or nurse.site_id not in site_ids:
        raise Invalid(f"nurse {nurse_id} does not work for the token's sites", field="nurse_id")


def issue_token(
    session: Session, *, name: str, role: str, raw: str | None = None, created_by=None,
    nurse_id=None, site_ids=None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the record and the raw token, which is never stored.

    No rules here (tests and ``grant_token`` call it): ``site_ids=None`` is global.
    """
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
    for site_id in site_ids or ():
        session.add(ApiTokenSite(token_id=token.id, site_id=site_id))
    session.flush()
    return token, raw


def site_ids_of(session: Session, token_id: int) -> frozenset[int] | None:
    """The token's sites; None for a global token."""
    ids = session.scalars(select(ApiTokenSite.site_id).where(ApiTokenSite.token_id == token_id))
    return frozenset(ids) or None


def _visible(scope: Scope):
    """Tokens a site admin sees: those of their sites (never global ones)."""
    if scope.is_global:
        return ApiToken.id.is_not(None)
    return ApiToken.id.in_(select(ApiTokenSite.token_id).where(scope.where(ApiTokenSite.site_id)))


def authenticate(session: Session, raw: str) -> ApiToken | None:
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(raw))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    return token


def revoke_token(session: Session, clock: Clock, token_id: int,
                 scope: Scope | None = None) -> ApiToken:
    scope = scope or Scope.everything()
    stmt = select(ApiToken).where(ApiToken.id == token_id, _visible(scope))
    token = session.scalars(stmt).first()
    if token is None:
        raise NotFound(f"Api token {token_id} does not exist")
    if token.revoked_at is not None:
        raise Conflict(f"token {token_id} was already revoked", field="token_id")
    token.revoked_at = clock.now()
    session.flush()
    return token


def list_tokens(session: Session, scope: Scope, *, page: int, page_size: int, role=None,
                revoked=None) -> Page:
    stmt = select(ApiToken).where(_visible(scope)).order_by(ApiToken.id)
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
