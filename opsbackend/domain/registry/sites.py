from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict
from opsbackend.domain.records import Page, apply_changes, get_or_404, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Site


def zones(session: Session, scope: Scope) -> dict[int, str]:
    """Each of the scope's sites' time zone, by site id: times are said as the site's
    people read them."""
    return dict(session.execute(select(Site.id, Site.timezone).where(scope.where(Site.id))).all())


def create_site(session: Session, data: dict) -> Site:
    _require_unique_code(session, data["code"])
    site = Site(**data)
    session.add(site)
    session.flush()
    return site


def update_site(session: Session, site_id: int, changes: dict) -> Site:
    site = get_or_404(session, Site, site_id)
    if "code" in changes and changes["code"] != site.code:
        _require_unique_code(session, changes["code"])
    apply_changes(site, changes)
    session.flush()
    return site


def list_sites(session: Session, scope: Scope, *, page: int, page_size: int, region=None,
               active=None) -> Page:
    stmt = select(Site).where(scope.where(Site.id)).order_by(Site.id)
    if region is not None:
        stmt = stmt.where(Site.region == region)
    if active is not None:
        stmt = stmt.where(Site.active == active)
    return paginate(session, stmt, page, page_size)


def _require_unique_code(session: Session, code: str) -> None:
    if session.scalars(select(Site.id).where(Site.code == code)).first() is not None:
        raise Conflict(f"a site with code {code!r} already exists", field="code")
