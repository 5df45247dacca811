from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.records import (
    Page,
    apply_changes,
    get_or_404,
    paginate,
    require_reference,
)
from opsbackend.domain.registry.nurses import has_skill
from opsbackend.domain.scope import Scope
from opsbackend.models import Site, Unit, UnitShift, UnitShiftException


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
    session: Session, scope: Scope, *, page: int, page_size: int, site_id=None, status=None,
    skill=None,
) -> Page:
    stmt = select(Unit).where(scope.where(Unit.site_id)).order_by(Unit.id)
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


def record_location(session: Session, clock, unit_id: int, lat: float, lon: float, at=None):
    """The unit's last known position (a check-in, or the van's own report)."""
    unit = get_or_404(session, Unit, unit_id)
    at = at or clock.now()
    if at > clock.now() + timedelta(minutes=5):
        raise Invalid("the location time is in the future", field="at")
    if unit.last_located_at is None or at >= unit.last_located_at:
        unit.last_lat, unit.last_lon, unit.last_located_at = lat, lon, at
        session.flush()
    return unit


def add_shift_exception(session: Session, unit_id: int, data: dict) -> UnitShiftException:
    get_or_404(session, Unit, unit_id)
    if (data.get("starts_at") is None) != (data.get("ends_at") is None):
        raise Invalid("give both starts_at and ends_at, or neither (off all day)",
                      field="starts_at")
    clash = select(UnitShiftException.id).where(UnitShiftException.unit_id == unit_id,
                                                UnitShiftException.on_date == data["on_date"])
    if session.scalars(clash).first() is not None:
        raise Conflict(f"unit {unit_id} already has an exception on {data['on_date']}",
                       field="on_date")
    exception = UnitShiftException(unit_id=unit_id, **data)
    session.add(exception)
    session.flush()
    return exception


def list_shift_exceptions(session: Session, unit_id: int) -> list[UnitShiftException]:
    get_or_404(session, Unit, unit_id)
    return list(session.scalars(
        select(UnitShiftException).where(UnitShiftException.unit_id == unit_id)
        .order_by(UnitShiftException.on_date)
    ))


def remove_shift_exception(session: Session, unit_id: int, exception_id: int) -> None:
    exception = session.get(UnitShiftException, exception_id)
    if exception is None or exception.unit_id != unit_id:
        raise NotFound(f"Shift exception {exception_id} of unit {unit_id} does not exist")
    session.delete(exception)
    session.flush()
