"""Where homecare is missing: per region and site, patients out of reach and visits vs capacity."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.labels import labels
from opsbackend.domain.registry.shifts import shift_intervals
from opsbackend.domain.scope import Scope
from opsbackend.models import Home, Patient, Site, Unit, UnitShiftException, Visit
from opsbackend.models.site import REGIONS

OPEN_VISITS = ("unassigned", "assigned", "en_route", "on_site")
COUNTED_UNITS = ("available", "en_route", "on_site", "off_duty")


@dataclass
class SiteCoverage:
    site_id: int
    site_code: str
    region: str
    active_patients: int = 0
    units: int = 0
    # Patient ids while the report is built, then ``PatientPlace``s.
    patients_out_of_reach: list = field(default_factory=list)
    patients_without_location: list = field(default_factory=list)
    visits_next_7_days: int = 0
    capacity_visits_next_7_days: float = 0.0

    @property
    def utilisation(self) -> float | None:
        if not self.capacity_visits_next_7_days:
            return None
        return round(self.visits_next_7_days / self.capacity_visits_next_7_days, 3)


@dataclass
class RegionCoverage:
    region: str
    sites: list[SiteCoverage]

    def total(self, name: str) -> float:
        return sum(len(v) if isinstance(v := getattr(s, name), list) else v for s in self.sites)


def coverage(
    session: Session, now: datetime, travel, *, max_travel_minutes: int = 90,
    minutes_per_visit_overhead: int = 30, scope: Scope | None = None,
) -> list[RegionCoverage]:
    """``minutes_per_visit_overhead`` is the travel a visit costs a unit on average;
    ``scope``: only these sites (default every site)."""
    in_scope = (scope or Scope.everything()).where(Site.id)
    sites = session.scalars(select(Site).where(Site.active.is_(True), in_scope)
                            .order_by(Site.code)).all()
    until = now + timedelta(days=7)
    report = {s.id: SiteCoverage(s.id, s.code, s.region) for s in sites}
    units = session.scalars(select(Unit).where(Unit.status.in_(COUNTED_UNITS))).all()
    bases = [(u.base_lat, u.base_lon) for u in units]
    exceptions = defaultdict(list)
    for exception in session.scalars(select(UnitShiftException)):
        exceptions[exception.unit_id].append(exception)
    by_id = {s.id: s for s in sites}
    shift_minutes = defaultdict(float)
    for unit in units:
        if unit.site_id in report:
            report[unit.site_id].units += 1
            stretches = shift_intervals(unit, exceptions[unit.id], by_id[unit.site_id].timezone,
                                        now, until)
            shift_minutes[unit.site_id] += sum(
                (min(c, until) - max(o, now)).total_seconds() / 60 for o, c in stretches)
    _patients(session, report, bases, travel, max_travel_minutes)
    _visits(session, report, now, until, shift_minutes, minutes_per_visit_overhead)
    _name_patients(session, report.values())
    regions = defaultdict(list)
    for site_coverage in report.values():
        regions[site_coverage.region].append(site_coverage)
    return [RegionCoverage(region, regions[region]) for region in REGIONS if region in regions]


@dataclass(frozen=True)
class PatientPlace:
    """A patient as a dispatcher reads one in the report: study code and home area."""

    patient_id: int
    study_code: str | None
    city: str | None
    postal_code: str | None


def _name_patients(session, sites) -> None:
    """The lists of ids become lists of patients with their study code and area."""
    for site in sites:
        for name in ("patients_out_of_reach", "patients_without_location"):
            ids = getattr(site, name)
            found = labels(session, [(patient_id, None) for patient_id in ids])
            setattr(site, name, [PatientPlace(patient_id, f.study_code, f.city, f.postal_code)
                                 for patient_id, f in zip(ids, found, strict=True)])


def _patients(session, report, bases, travel, max_travel_minutes) -> None:
    rows = session.execute(
        select(Patient.id, Patient.site_id, Home.lat, Home.lon)
        .outerjoin(Home, Home.patient_id == Patient.id)
        .where(Patient.status == "active")
    ).all()
    located = []
    for patient_id, site_id, lat, lon in rows:
        if site_id not in report:
            continue
        report[site_id].active_patients += 1
        if lat is None or lon is None:
            report[site_id].patients_without_location.append(patient_id)
        else:
            located.append((patient_id, site_id, (lat, lon)))
    if not located:
        return
    if not bases:
        for patient_id, site_id, _point in located:
            report[site_id].patients_out_of_reach.append(patient_id)
        return
    seconds = travel.matrix([p for _, _, p in located], bases)
    for (patient_id, site_id, _point), row in zip(located, seconds, strict=True):
        if min(row) > max_travel_minutes * 60:
            report[site_id].patients_out_of_reach.append(patient_id)


def _visits(session, report, now, until, shift_minutes, overhead) -> None:
    """Visits due in the week, and how many the units' shifts could hold."""
    rows = session.execute(
        select(Patient.site_id, Visit.service_minutes)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Visit.status.in_(OPEN_VISITS), Visit.window_start >= now,
               Visit.window_start < until)
    ).all()
    service = defaultdict(list)
    for site_id, minutes in rows:
        if site_id in report:
            report[site_id].visits_next_7_days += 1
            service[site_id].append(minutes)
    for site_id, site_coverage in report.items():
        minutes = service[site_id]
        per_visit = (sum(minutes) / len(minutes) if minutes else 45) + overhead
        site_coverage.capacity_visits_next_7_days = round(shift_minutes[site_id] / per_visit, 1)
