"""A prepared bag's chain of custody, from the pharmacy's release to the home.

Each link records who, when and where; a move into or out of the fridge or a reading
records how cold. ``storage_summary`` adds up the time at room temperature and in the
fridge and finds the readings out of range, up to a moment (the hanging, or now); the
bag change turns that into warnings (``bag_record``).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.infusion.bag_limits import BagLimits
from opsbackend.domain.infusion.course_lifecycle import checked_time
from opsbackend.domain.records import get_or_404, require_reference
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.domain.scope import Scope
from opsbackend.models import Course, CustodyEvent, Nurse, Patient, PreparedBag, Unit

EVENT_FIELDS = ("place", "location", "unit_id", "nurse_id", "handed_by", "received_by",
                "storage", "temperature_c", "notes")


@dataclass(frozen=True)
class StorageSummary:
    room_time: timedelta = timedelta(0)
    fridge_time: timedelta = timedelta(0)
    # Readings outside the limits: (when, °C, where it was kept).
    excursions: list[tuple[datetime, float, str]] = field(default_factory=list)


def release_bag(session: Session, scope: Scope, clock: Clock, course_id: int, data: dict,
                rules: TimelineRules = DEFAULT_RULES) -> PreparedBag:
    """The pharmacy releases a prepared bag for the course: the chain's first link."""
    course = course_in_scope(session, scope, course_id)
    data = dict(data)
    if data.get("prepared_at") is not None:
        checked_time(clock, data["prepared_at"], rules, "prepared_at")  # not in the future
    released_at = checked_time(clock, data.pop("released_at", None), rules, "released_at",
                               not_before=data.get("prepared_at"))
    if session.scalars(select(PreparedBag.id).where(
            PreparedBag.course_id == course.id,
            PreparedBag.pharmacy_bag_id == data["pharmacy_bag_id"])).first():
        raise Conflict(f"bag {data['pharmacy_bag_id']} was already released for this course",
                       field="pharmacy_bag_id")
    event = {name: data.pop(name) for name in EVENT_FIELDS if name in data}
    _check_references(session, event)
    prepared = PreparedBag(course_id=course.id, **data)
    session.add(prepared)
    session.flush()
    session.add(CustodyEvent(prepared_bag_id=prepared.id, kind="released",
                             occurred_at=released_at,
                             **({"place": "pharmacy", "storage": "fridge"} | event)))
    session.flush()
    return prepared


def add_event(session: Session, scope: Scope, clock: Clock, prepared_bag_id: int, data: dict,
              rules: TimelineRules = DEFAULT_RULES) -> CustodyEvent:
    """A hand-over, a move into or out of the fridge, a temperature reading, a discard."""
    prepared = prepared_bag_in_scope(session, scope, prepared_bag_id, for_update=True)
    if prepared.status != "in_custody":
        raise Conflict(f"bag {prepared.pharmacy_bag_id} is {prepared.status}; its chain is "
                       "closed", field="status")
    chain = events_of(session, prepared.id)
    data = dict(data)
    at = checked_time(clock, data.pop("occurred_at", None), rules, "occurred_at",
                      not_before=chain[0].occurred_at)
    kind = data["kind"]
    if kind == "stored" and not data.get("storage"):
        raise Invalid("say where it is kept now: fridge or room", field="storage")
    if kind == "temperature" and data.get("temperature_c") is None:
        raise Invalid("a reading needs temperature_c", field="temperature_c")
    if kind == "handed_over" and not (data.get("received_by") or data.get("nurse_id")
                                      or data.get("unit_id")):
        raise Invalid("say who received it: received_by, nurse_id or unit_id",
                      field="received_by")
    _check_references(session, data)
    data.setdefault("place", _place_at(chain, at))
    event = CustodyEvent(prepared_bag_id=prepared.id, occurred_at=at, **data)
    session.add(event)
    if kind == "discarded":
        prepared.status = "discarded"
    session.flush()
    return event


def list_prepared_bags(session: Session, scope: Scope, course_id: int) -> list[PreparedBag]:
    course_in_scope(session, scope, course_id)
    return list(session.scalars(select(PreparedBag).where(PreparedBag.course_id == course_id)
                                .order_by(PreparedBag.id)))


def events_of(session: Session, prepared_bag_id: int) -> list[CustodyEvent]:
    return list(session.scalars(
        select(CustodyEvent).where(CustodyEvent.prepared_bag_id == prepared_bag_id)
        .order_by(CustodyEvent.occurred_at, CustodyEvent.id)))


def find_for_label(session: Session, course: Course, pharmacy_bag_id: str | None,
                   lot: str | None) -> PreparedBag | None:
    """The prepared bag a bag change hangs: by the pharmacy's bag id, or by its lot when
    exactly one bag of that lot is still in custody for the course."""
    stmt = select(PreparedBag).where(PreparedBag.course_id == course.id)
    if pharmacy_bag_id:
        return session.scalars(stmt.where(PreparedBag.pharmacy_bag_id == pharmacy_bag_id)
                               ).first()
    if lot:
        found = session.scalars(stmt.where(PreparedBag.lot == lot,
                                           PreparedBag.status == "in_custody")).all()
        return found[0] if len(found) == 1 else None
    return None


def mark_hung(session: Session, prepared: PreparedBag, at: datetime, nurse_id: int | None,
              unit_id: int | None) -> None:
    """The chain's last link: hung on the pump at home."""
    prepared.status = "hung"
    session.add(CustodyEvent(prepared_bag_id=prepared.id, kind="hung", occurred_at=at,
                             place="home", nurse_id=nurse_id, unit_id=unit_id,
                             storage="room"))
    session.flush()


def storage_summary(events: list[CustodyEvent], until: datetime,
                    limits: BagLimits) -> StorageSummary:
    """Time at room temperature and in the fridge up to ``until``, and readings out of range.

    Each event's ``storage`` holds from its time until the next event that names one.
    """
    room = fridge = timedelta(0)
    excursions = []
    storage, since = None, None
    for event in sorted(events, key=lambda e: e.occurred_at):
        if event.occurred_at > until:
            break
        if event.storage and event.storage != storage:
            room, fridge = _add(room, fridge, storage, since, event.occurred_at)
            storage, since = event.storage, event.occurred_at
        reading = event.temperature_c
        if reading is not None and _out_of_range(reading, storage, limits):
            excursions.append((event.occurred_at, reading, storage or "unknown"))
    room, fridge = _add(room, fridge, storage, since, until)
    return StorageSummary(room, fridge, excursions)


def course_in_scope(session: Session, scope: Scope, course_id: int) -> Course:
    course = get_or_404(session, Course, course_id)
    if not scope.covers(session.get(Patient, course.patient_id).site_id):
        raise NotFound(f"Course {course_id} does not exist")
    return course


def prepared_bag_in_scope(session: Session, scope: Scope, prepared_bag_id: int, *,
                          for_update: bool = False) -> PreparedBag:
    prepared = session.get(PreparedBag, prepared_bag_id,
                           with_for_update={"key_share": True} if for_update else None)
    if prepared is None:
        raise NotFound(f"Prepared bag {prepared_bag_id} does not exist")
    try:
        course_in_scope(session, scope, prepared.course_id)
    except NotFound:
        raise NotFound(f"Prepared bag {prepared_bag_id} does not exist") from None
    return prepared


def _add(room, fridge, storage, since, until):
    if since is None or until <= since:
        return room, fridge
    if storage == "room":
        return room + (until - since), fridge
    if storage == "fridge":
        return room, fridge + (until - since)
    return room, fridge


def _out_of_range(reading: float, storage: str | None, limits: BagLimits) -> bool:
    if reading < limits.fridge_min_c:
        return True  # too cold wherever it is: freezing ruins it
    if storage == "fridge":
        return reading > limits.fridge_max_c
    return limits.room_max_c is not None and reading > limits.room_max_c


def _place_at(chain: list[CustodyEvent], at: datetime) -> str:
    before = [event for event in chain if event.occurred_at <= at]
    return (before or chain)[-1].place


def _check_references(session: Session, data: dict) -> None:
    require_reference(session, Unit, data.get("unit_id"), "unit_id")
    require_reference(session, Nurse, data.get("nurse_id"), "nurse_id")


def prepared_bag_detail(session: Session, scope: Scope, clock: Clock, prepared_bag_id: int,
                        rules: TimelineRules = DEFAULT_RULES) -> dict:
    """The bag, its chain, and its storage up to the hanging (or now)."""
    prepared = prepared_bag_in_scope(session, scope, prepared_bag_id)
    chain = events_of(session, prepared.id)
    course = session.get(Course, prepared.course_id)
    hung = [event.occurred_at for event in chain if event.kind == "hung"]
    summary = storage_summary(chain, hung[0] if hung else clock.now(),
                              rules.bag_limits.for_bag(course.drug, course.bag_interval_hours))
    return prepared.model_dump() | {"custody": chain, "storage": {
        "room_hours": round(summary.room_time / timedelta(hours=1), 2),
        "fridge_hours": round(summary.fridge_time / timedelta(hours=1), 2),
        "excursions": [{"at": at.isoformat(), "celsius": celsius, "storage": storage}
                       for at, celsius, storage in summary.excursions],
    }}
