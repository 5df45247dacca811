from sqlalchemy import String, bindparam, cast, select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict
from opsbackend.domain.records import (
    Page,
    apply_changes,
    get_or_404,
    paginate,
    require_reference,
)
from opsbackend.domain.registry import nurse_pins
from opsbackend.domain.scope import Scope
from opsbackend.models import Nurse, Site, Unit


def create_nurse(session: Session, data: dict) -> Nurse:
    _check_references(session, data)
    _require_unique_phone(session, data["phone"])
    nurse = Nurse(**_with_pin_hashed(data))
    session.add(nurse)
    session.flush()
    return nurse


def update_nurse(session: Session, nurse_id: int, changes: dict) -> Nurse:
    nurse = get_or_404(session, Nurse, nurse_id)
    _check_references(session, changes)
    if "phone" in changes and changes["phone"] != nurse.phone:
        _require_unique_phone(session, changes["phone"])
    apply_changes(nurse, _with_pin_hashed(changes))
    session.flush()
    return nurse


def list_nurses(
    session: Session, scope: Scope, *, page: int, page_size: int, site_id=None, unit_id=None,
    active=None, skill=None,
) -> Page:
    stmt = select(Nurse).where(scope.where(Nurse.site_id)).order_by(Nurse.id)
    if site_id is not None:
        stmt = stmt.where(Nurse.site_id == site_id)
    if unit_id is not None:
        stmt = stmt.where(Nurse.unit_id == unit_id)
    if active is not None:
        stmt = stmt.where(Nurse.active == active)
    if skill is not None:
        stmt = stmt.where(has_skill(Nurse.skills, skill))
    return paginate(session, stmt, page, page_size)


def find_by_phone(session: Session, phone: str) -> Nurse | None:
    return session.scalars(select(Nurse).where(Nurse.phone == phone)).first()


# Built once, as it runs on every SMS and call (see ``records._by_id``).
_ACTIVE_BY_PHONE = select(Nurse).where(Nurse.phone == bindparam("phone"), Nurse.active.is_(True))


def active_by_phone(session: Session, phone: str) -> Nurse | None:
    """The active nurse whose registered phone this is: how a phone check-in knows who."""
    return session.scalars(_ACTIVE_BY_PHONE, {"phone": phone}).first()


def has_skill(column, skill: str):
    """Skills are a JSON list of slugs; its text form holds each one in quotes."""
    return cast(column, String).like(f'%"{skill}"%')


def _with_pin_hashed(data: dict) -> dict:
    """A PIN is given in clear and kept only as its hash; ``None`` removes it."""
    if "pin" not in data:
        return data
    pin = data["pin"]
    rest = {key: value for key, value in data.items() if key != "pin"}
    return rest | {"pin_hash": nurse_pins.hash_pin(pin) if pin is not None else None}


def _check_references(session: Session, data: dict) -> None:
    require_reference(session, Site, data.get("site_id"), "site_id")
    require_reference(session, Unit, data.get("unit_id"), "unit_id")


def _require_unique_phone(session: Session, phone: str) -> None:
    if find_by_phone(session, phone) is not None:
        raise Conflict(f"a nurse with phone {phone} is already registered", field="phone")
