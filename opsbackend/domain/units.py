from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict
from opsbackend.domain.nurses import has_skill
from opsbackend.domain.records import (
    Page,
    apply_changes,
    get_or_404,
    paginate,
    require_reference,
)
from opsbackend.models import Site, Unit, UnitShift


def create_unit(session: Session, data: dict) -> Unit:
    data = dict(data)
    shifts = data.pop("shifts", [])
    require_reference(session, Site, data["site_id"], "site_id")
    _require_unique_call_sign(session, data["call_sign"])
    unit = Unit(**data)
    unit.shifts = [UnitShift(**shift) for shift in shifts]
    session.add(unit)
    session.flush()
    return unit


def update_unit(session: Session, unit_id: int, changes: dict) -> Unit:
    changes = dict(changes)
    unit = get_or_404(session, Unit, unit_id)
    require_reference(session, Site, changes.get("site_id"), "site_id")
    if "call_sign" in changes and changes["call_sign"] != unit.call_sign:
        _require_unique_call_sign(session, changes["call_sign"])
    if "shifts" in changes:
        # The weekly pattern is replaced as a whole. Old rows go first: the
        # unit of work would otherwise insert before it deletes.
        unit.shifts = []
        session.flush()
        unit.shifts = [UnitShift(**shift) for shift in changes.pop("shifts")]
    apply_changes(unit, changes)
    session.flush()
    return unit


def list_units(
    session: Session, *, page: int, page_size: int, site_id=None, status=None, skill=None
) -> Page:
    stmt = select(Unit).order_by(Unit.id)
    if site_id is not None:
        stmt = stmt.where(Unit.site_id == site_id)
    if status is not None:
        stmt = stmt.where(Unit.status == status)
    if skill is not None:
        stmt = stmt.where(has_skill(Unit.skills, skill))
    return paginate(session, stmt, page, page_size)


def _require_unique_call_sign(session: Session, call_sign: str) -> None:
    if session.scalars(select(Unit.id).where(Unit.call_sign == call_sign)).first() is not None:
        raise Conflict(f"a unit with call sign {call_sign!r} already exists", field="call_sign")
