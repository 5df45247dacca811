"""Nurse check-ins, one function for every channel (SMS, voice keypad, API).

Each check-in records the EVV elements: who provided the service (nurse),
who received it (patient), what (the visit's kind), when, where, and how
identity and location were verified: caller ID against the nurse's registered
phone and the home's landline, and whether the nurse is on the visit's unit.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.dispatch import visits
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.infusion import bags, pump_reports
from opsbackend.domain.infusion.bag_record import BagLabel
from opsbackend.domain.interop.webhook_events import visit_event
from opsbackend.domain.phone import evv
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import CheckIn, Course, Home, Nurse, Patient, Site, Unit, Visit

# A visit counts as "current" for a nurse from this long before its window to this long after.
CURRENT_MARGIN = timedelta(hours=12)
# A visit marked missed can still be checked into: the bag still has to be changed.
ACTIVE_VISIT_STATUSES = ("unassigned", "assigned", "en_route", "on_site", "missed")


@dataclass(frozen=True)
class Caller:
    """Who reached us and how we know: the channel, the caller ID, the identity method."""

    channel: str
    phone: str | None = None
    identity_method: str = "registered_phone"
    inbound_message_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    # The nurse said OVERRIDE to check in at another unit's visit (an EVV exception).
    override: bool = False


class NoCurrentVisit(Conflict):
    pass


class SeveralCurrentVisits(Conflict):
    def __init__(self, visits: list[Visit]):
        codes = ", ".join(f"V{v.id}" for v in visits)
        super().__init__(f"several current visits: {codes}", field="visit",
                         reason="several_visits", count=len(visits), codes=codes)
        self.visits = visits


def nurse_sites(session: Session, nurse: Nurse) -> frozenset[int]:
    """The sites a nurse works for: the nurse record's and the unit's they are on."""
    unit_site = (session.scalar(select(Unit.site_id).where(Unit.id == nurse.unit_id))
                 if nurse.unit_id is not None else None)
    return frozenset(site for site in (nurse.site_id, unit_site) if site is not None)


def current_visits(session: Session, clock: Clock, nurse: Nurse) -> list[Visit]:
    """The nurse's unit's visits around now, soonest first."""
    if nurse.unit_id is None:
        return []
    now = clock.now()
    return list(session.scalars(
        select(Visit).where(
            Visit.unit_id == nurse.unit_id,
            Visit.status.in_(("assigned", "en_route", "on_site", "missed")),
            Visit.window_start <= now + CURRENT_MARGIN,
            Visit.window_end >= now - CURRENT_MARGIN,
        ).order_by(Visit.window_start)
    ))


def resolve_visit(session: Session, clock: Clock, nurse: Nurse, visit_id: int | None, *,
                  override: bool = False) -> Visit:
    """The visit a check-in is about: the one named, else the one the nurse is at (arrived,
    not left), else the nurse's only current one. A named visit must be of the nurse's
    sites; one assigned to another unit needs ``override`` (an EVV exception follows)
    unless the nurse already arrived there."""
    if visit_id is None:
        here = visits_at(session, nurse)
        if len(here) == 1:
            return here[0]
        found = here or current_visits(session, clock, nurse)
        if not found:
            raise NoCurrentVisit("no current visit", field="visit", reason="no_current_visit")
        if len(found) > 1:
            raise SeveralCurrentVisits(found)
        return found[0]
    visit = session.get(Visit, visit_id)
    if visit is None or not _of_nurse_sites(session, nurse, visit):
        raise NotFound(f"there is no visit V{visit_id}", field="visit",
                       reason="visit_not_found", visit=visit_id)
    if visit.unit_id is not None and visit.unit_id != nurse.unit_id and not override \
            and visit not in visits_at(session, nurse):
        raise Conflict(f"V{visit_id} is assigned to another unit", field="visit",
                       reason="visit_other_unit", visit=visit_id)
    if visit.status not in ACTIVE_VISIT_STATUSES:
        raise Conflict(f"V{visit_id} is {visit.status}", field="visit",
                       reason="visit_closed", visit=visit_id, status=visit.status)
    return visit


def visits_at(session: Session, nurse: Nurse) -> list[Visit]:
    """The visits the nurse arrived at and has not left (still on site), oldest first."""
    arrived = select(CheckIn.visit_id).where(CheckIn.nurse_id == nurse.id,
                                             CheckIn.kind == "arrived")
    return list(session.scalars(
        select(Visit).where(Visit.status == "on_site", Visit.id.in_(arrived))
        .order_by(Visit.window_start, Visit.id)))


def leaving_visit(session: Session, clock: Clock, nurse: Nurse, visit_id: int | None) -> Visit:
    """The visit a ``DONE`` closes: the one named, or the one the nurse arrived at and has
    not left; never a visit nobody arrived at."""
    if visit_id is not None:
        visit = resolve_visit(session, clock, nurse, visit_id)
        if visit.status != "on_site":
            raise Conflict(f"nobody arrived at V{visit.id}", field="visit",
                           reason="not_arrived", visit=visit.id)
        return visit
    here = visits_at(session, nurse)
    if not here:
        raise NoCurrentVisit("no visit you arrived at", field="visit",
                             reason="no_visit_arrived")
    if len(here) > 1:
        raise SeveralCurrentVisits(here)
    return here[0]


def _of_nurse_sites(session: Session, nurse: Nurse, visit: Visit) -> bool:
    """A nurse checks in only at visits of the sites they work for. One statement (the
    patient's site and the nurse's unit's), which also reads what the reply names (the
    study code, the site's time zone; ``visit_place``): it runs on every check-in."""
    study_code, timezone, patient_site, nurse_unit_site = session.execute(
        _PLACE_AND_SITES, {"patient_id": visit.patient_id, "unit_id": nurse.unit_id}).one()
    _places(session)[visit.patient_id] = (study_code, timezone)
    return patient_site in {nurse.site_id, nurse_unit_site} - {None}


def visit_place(session: Session, visit: Visit) -> tuple[str, str]:
    """The visit's patient study code and site time zone: all a check-in's reply names.
    Read with the site check when the nurse named the visit, else here."""
    place = _places(session).get(visit.patient_id)
    if place is None:
        place = tuple(session.execute(_PLACE, {"patient_id": visit.patient_id}).one())
    return place


def _place_of(*also):
    """The patient's study code and site time zone, then the ``also`` columns."""
    return (select(Patient.study_code, Site.timezone, *also)
            .join(Site, Site.id == Patient.site_id)
            .where(Patient.id == bindparam("patient_id")))


# Built once, as they run on every check-in (see ``records._by_id``).
_PLACE = _place_of()
_PLACE_AND_SITES = _place_of(
    Patient.site_id,
    select(Unit.site_id).where(Unit.id == bindparam("unit_id")).scalar_subquery())


def _places(session: Session) -> dict[int, tuple[str, str]]:
    # Kept for the session (one request, one job's transaction): a study code and a site's
    # time zone do not change under a check-in.
    return session.info.setdefault("check_in_places", {})


def arrive(session, clock, nurse, visit, caller: Caller) -> CheckIn:
    if visit.status != "on_site":
        visits.set_status(visit, "on_site", clock.now())
        visit_event(session, "visit.arrived", visit)
    return _record(session, clock, nurse, visit, "arrived", caller)


def change_bag(
    session, clock, nurse, visit, caller: Caller, *, volume_ml=None, no_flush=None,
    rules: TimelineRules = DEFAULT_RULES, label: BagLabel | None = None,
) -> tuple[CheckIn, bags.BagChange]:
    if visit.course_id is None:
        raise Conflict(f"V{visit.id} has no infusion course", field="visit",
                       reason="no_infusion_course", visit=visit.id)
    if no_flush is not True:
        raise Invalid(f"V{visit.id}: confirm the line was not flushed",
                      field="no_flush_confirmed", reason="no_flush_unconfirmed", visit=visit.id)
    change = bags.change_bag(
        session, clock, visit.course_id, nurse_id=nurse.id, volume_ml=volume_ml,
        no_flush_confirmed=no_flush, rules=rules, label=label, unit_id=visit.unit_id,
    )
    check_in = _record(session, clock, nurse, visit, "bag_changed", caller,
                       {"old_bag_id": change.old_bag.id, "new_bag_id": change.new_bag.id})
    return check_in, change


def report_pump(
    session, clock, nurse, visit, caller: Caller, *, status: str, alarm_type=None,
    battery_pct=None, rules: TimelineRules = DEFAULT_RULES,
):
    if visit.course_id is None:
        raise Conflict(f"V{visit.id} has no infusion course", field="visit",
                       reason="no_infusion_course", visit=visit.id)
    data = {"status": status, "alarm_type": alarm_type, "battery_pct": battery_pct,
            "reported_by_nurse_id": nurse.id, "reported_by": "nurse", "source": caller.channel}
    report, _new = pump_reports.record_pump_report(
        session, clock, visit.course_id, {k: v for k, v in data.items() if v is not None}, rules
    )
    check_in = _record(session, clock, nurse, visit, "pump_status", caller,
                       {"pump_report_id": report.id, "status": status, "alarm_type": alarm_type})
    return check_in, report


def depart(session, clock, nurse, visit, caller: Caller) -> CheckIn:
    if visit.status != "completed":
        visits.set_status(visit, "completed", clock.now())
        visit_event(session, "visit.completed", visit)
    return _record(session, clock, nurse, visit, "departed", caller)


def _record(session, clock, nurse, visit, kind, caller: Caller, details=None) -> CheckIn:
    home, unit = _home_and_unit_position(session, visit, nurse, caller)
    where = evv.locate(home, caller, unit, clock.now())
    check_in = CheckIn(
        visit_id=visit.id, patient_id=visit.patient_id, nurse_id=nurse.id,
        unit_id=visit.unit_id, kind=kind, service_type=visit.kind,
        occurred_at=clock.now(), channel=caller.channel, caller_phone=caller.phone,
        identity_method=caller.identity_method, location_method=where.method,
        caller_matched_nurse=bool(caller.phone and caller.phone == nurse.phone),
        caller_matched_home=where.method == "home_landline",
        nurse_on_assigned_unit=visit.unit_id is not None and visit.unit_id == nurse.unit_id,
        lat=where.lat, lon=where.lon, inbound_message_id=caller.inbound_message_id,
        details=(details or {}) | ({"override": True} if caller.override else {}),
    )
    session.add(check_in)  # inserted at the next flush, with whatever else the caller adds
    evv.verify(session, check_in, visit)  # an arrival or departure that did not verify
    return check_in


# Built once, as it runs on every check-in. A unit id of None joins no unit.
_HOME_AND_UNIT_POSITION = (
    select(Home.id.label("home_id"), Home.landline_phone, Home.lat, Home.lon,
           Unit.last_lat, Unit.last_lon, Unit.last_located_at)
    .select_from(Patient)
    .outerjoin(Home, Home.patient_id == Patient.id)
    .outerjoin(Unit, Unit.id == bindparam("unit_id"))
    .where(Patient.id == bindparam("patient_id"))
)


def _home_and_unit_position(session, visit, nurse, caller: Caller):
    """The home's landline and position, and for an SMS check-in the nurse's unit's last
    position (not the unit and its shifts), which may verify where the nurse is: one
    statement, as it runs on every check-in. Either is None when there is none."""
    unit_id = nurse.unit_id if caller.channel == "sms" else None
    row = session.execute(_HOME_AND_UNIT_POSITION,
                          {"patient_id": visit.patient_id, "unit_id": unit_id}).one()
    return (row if row.home_id is not None else None,
            row if row.last_located_at is not None else None)


def course_of(session: Session, visit: Visit) -> Course | None:
    return session.get(Course, visit.course_id) if visit.course_id else None


