"""Electronic Visit Verification: where a check-in was verified from, and the exception
queue for those that did not verify.

A nurse's arrival and departure by phone are the EVV start and end of a visit. One that
does not verify (a caller ID that is neither the home's landline nor the nurse's phone,
an arrival outside the window, a nurse not on the visit's unit, no location at all)
goes to the site's exception queue. A supervisor (admin or dispatcher) clears each with
a reason code from a fixed list and a note; the clearing is audited like every change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from geopy.distance import great_circle
from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.errors import Conflict, NotFound
from opsbackend.domain.labels import Labelled, labels
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import CheckIn, EvvException, Nurse, Patient, Visit

# The unit's reported position verifies an SMS check-in's location when it is this close
# to the home and this recent.
UNIT_GPS_RADIUS_M = 200
UNIT_GPS_FRESH = timedelta(minutes=15)
VERIFIED_KINDS = ("arrived", "departed")  # the EVV start and end of a visit
PHONE_CHANNELS = ("sms", "voice")


@dataclass(frozen=True)
class Location:
    method: str  # "home_landline", "unit_gps", "gps" or "none"
    lat: float | None = None
    lon: float | None = None


def locate(home, caller, unit, now: datetime) -> Location:
    """How the check-in's place is known: the home landline's caller ID, the phone's own
    GPS, the unit's recent position near the home, or not at all. ``unit`` is anything
    with the unit's ``last_lat``, ``last_lon`` and ``last_located_at`` (or None)."""
    if caller.phone and home is not None and caller.phone == home.landline_phone:
        return Location("home_landline")
    if caller.lat is not None:
        return Location("gps", caller.lat, caller.lon)
    if (unit is not None and unit.last_located_at is not None and home is not None
            and home.lat is not None and now - unit.last_located_at <= UNIT_GPS_FRESH
            and great_circle((unit.last_lat, unit.last_lon), (home.lat, home.lon)).meters
            <= UNIT_GPS_RADIUS_M):
        return Location("unit_gps", unit.last_lat, unit.last_lon)
    return Location("none")


def problems(check_in: CheckIn, visit: Visit) -> list[tuple[str, str]]:
    """(kind, detail) for each way this check-in did not verify."""
    if check_in.kind not in VERIFIED_KINDS or check_in.channel not in PHONE_CHANNELS:
        return []
    found = []
    if not (check_in.caller_matched_nurse or check_in.caller_matched_home):
        found.append(("caller_id_mismatch", f"called from {check_in.caller_phone or 'unknown'}"
                                            ", neither the home landline nor the nurse's phone"))
    if check_in.kind == "arrived" and not (visit.window_start <= check_in.occurred_at
                                           <= visit.window_end):
        found.append(("outside_window", f"arrived {check_in.occurred_at.isoformat()}, window "
                                        f"{visit.window_start.isoformat()} to "
                                        f"{visit.window_end.isoformat()}"))
    if not check_in.nurse_on_assigned_unit:
        if (check_in.details or {}).get("override"):
            detail = "checked in with OVERRIDE at another unit's visit"
        else:
            detail = ("the nurse is not on the visit's unit" if visit.unit_id
                      else "the visit had no unit")
        found.append(("not_assigned_unit", detail))
    if check_in.location_method == "none":
        found.append(("no_location", "no home landline, GPS or unit position near the home"))
    return found


def verify(session: Session, check_in: CheckIn, visit: Visit) -> list[EvvException]:
    """Queue an exception for each way the check-in did not verify."""
    found = problems(check_in, visit)
    if not found:
        return []
    session.flush()  # the check-in's id
    site_id = session.scalar(select(Patient.site_id).where(Patient.id == visit.patient_id))
    return [record_exception(session, site_id=site_id, kind=kind, detail=detail,
                             visit_id=visit.id, check_in_id=check_in.id,
                             nurse_id=check_in.nurse_id) for kind, detail in found]


def record_exception(session: Session, *, site_id: int, kind: str, detail: str | None = None,
                     visit_id=None, check_in_id=None, nurse_id=None) -> EvvException:
    exception = EvvException(site_id=site_id, kind=kind, detail=(detail or "")[:300] or None,
                             visit_id=visit_id, check_in_id=check_in_id, nurse_id=nurse_id)
    session.add(exception)
    session.flush()
    return exception


def list_exceptions(session: Session, scope: Scope, *, page: int, page_size: int,
                    status=None, kind=None, site_id=None, visit_id=None,
                    nurse_id=None) -> Page:
    stmt = (select(EvvException).where(scope.where(EvvException.site_id))
            .order_by(EvvException.created_at, EvvException.id))
    for column, value in ((EvvException.status, status), (EvvException.kind, kind),
                          (EvvException.site_id, site_id), (EvvException.visit_id, visit_id),
                          (EvvException.nurse_id, nurse_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    found = paginate(session, stmt, page, page_size)
    return Page(_labelled(session, found.items), found.total, found.page, found.page_size)


def clear(session: Session, clock: Clock, scope: Scope, exception_id: int, reason_code: str,
          note: str, by: str) -> Labelled:
    exception = get_or_404(session, EvvException, exception_id, for_update=True)
    if not scope.covers(exception.site_id):
        raise NotFound(f"Evv exception {exception_id} does not exist")
    if exception.status == "cleared":
        raise Conflict(f"exception {exception_id} was cleared at "
                       f"{exception.cleared_at.isoformat()} by {exception.cleared_by}",
                       field="status")
    exception.status, exception.cleared_at, exception.cleared_by = "cleared", clock.now(), by
    exception.reason_code, exception.note = reason_code, note
    session.flush()
    return _labelled(session, [exception])[0]


def _labelled(session, exceptions) -> list[Labelled]:
    visit_ids = {e.visit_id for e in exceptions if e.visit_id is not None}
    visits = {v.id: (v.patient_id, v.unit_id) for v in session.execute(
        select(Visit.id, Visit.patient_id, Visit.unit_id).where(Visit.id.in_(visit_ids)))
    } if visit_ids else {}
    nurse_ids = {e.nurse_id for e in exceptions if e.nurse_id is not None}
    names = dict(session.execute(select(Nurse.id, Nurse.name).where(Nurse.id.in_(nurse_ids)))
                 .all()) if nurse_ids else {}
    found = labels(session, [visits.get(e.visit_id, (None, None)) for e in exceptions])
    return [Labelled(e, label, patient_id=visits.get(e.visit_id, (None, None))[0],
                     nurse_name=names.get(e.nurse_id))
            for e, label in zip(exceptions, found, strict=True)]
