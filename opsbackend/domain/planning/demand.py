"""Demand: the homes of the sites' patients, and patients expected by postal code (a CSV).

A home counts when its patient has a course, active, planned or past (where patients live
is where units must reach, and a withdrawn patient may have left because none did), or is
enrolled and waiting for one. Its weight is the visits a week its bag interval asks: the
patient's open course (the latest), else the latest past one; a patient without a course
gets the default (7 a week, a 24 h bag).
"""

import csv
import io

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Invalid
from opsbackend.domain.planning import postal_codes
from opsbackend.domain.planning.places import DEFAULT_VISITS_PER_WEEK, DemandPoint, visits_per_week
from opsbackend.models import Course, Home, Patient
from opsbackend.models.course import OPEN_COURSE_STATUSES

WAITING_STATUSES = ("active", "on_hold")  # enrolled patients who may still get a course
MAX_EXPECTED_ROWS = 5000
MAX_EXPECTED_PATIENTS = 10_000


def homes(session: Session, site_ids: list[int]) -> tuple[list[DemandPoint], int]:
    """The located homes to reach, and how many more have no coordinates yet."""
    intervals = _bag_intervals(session, site_ids)
    rows = session.execute(
        select(Patient.id, Patient.site_id, Patient.study_code, Patient.status,
               Home.lat, Home.lon, Home.postal_code)
        .outerjoin(Home, Home.patient_id == Patient.id)
        .where(Patient.site_id.in_(site_ids))
        .order_by(Patient.id)
    ).all()
    points, unlocated = [], 0
    for patient_id, site_id, study_code, status, lat, lon, postal_code in rows:
        interval = intervals.get(patient_id)
        if interval is None and status not in WAITING_STATUSES:
            continue  # left the trial without a course: no demand
        if lat is None or lon is None:
            unlocated += 1
            continue
        weekly = visits_per_week(interval) if interval else DEFAULT_VISITS_PER_WEEK
        points.append(DemandPoint(lat=lat, lon=lon, visits_per_week=weekly,
                                  postal_code=postal_code, patient_id=patient_id,
                                  study_code=study_code, site_id=site_id))
    return points, unlocated


def _bag_intervals(session, site_ids) -> dict[int, int]:
    """Per patient, the bag interval of the course that stands for their demand."""
    chosen: dict[int, tuple[bool, object, int]] = {}
    for patient_id, status, planned_start_at, interval in session.execute(
        select(Course.patient_id, Course.status, Course.planned_start_at,
               Course.bag_interval_hours)
        .join(Patient, Patient.id == Course.patient_id)
        .where(Patient.site_id.in_(site_ids))
    ):
        key = (status in OPEN_COURSE_STATUSES, planned_start_at, interval)
        if patient_id not in chosen or key[:2] > chosen[patient_id][:2]:
            chosen[patient_id] = key
    return {patient_id: key[2] for patient_id, key in chosen.items()}


def expected_from_csv(text: str, field: str) -> list[DemandPoint]:
    """Rows ``postal_code,expected_patients[,visits_per_week]``, with a header line.

    Each row becomes one point at the postal code's centroid; ``visits_per_week`` is per
    patient (default 7, a 24 h bag). A bad row is refused naming its line.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        columns = {name.strip() for name in reader.fieldnames or ()}
    except csv.Error as exc:
        raise Invalid(f"not readable as CSV: {exc}", field=field) from exc
    if not {"postal_code", "expected_patients"} <= columns:
        raise Invalid("the CSV needs a header with postal_code and expected_patients "
                      "(and optionally visits_per_week)", field=field)
    points = []
    try:
        for line, row in enumerate(reader, start=2):
            if len(points) >= MAX_EXPECTED_ROWS:
                raise Invalid(f"at most {MAX_EXPECTED_ROWS} rows", field=field)
            row = {k.strip(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
            points.append(_expected(row, line, field))
    except csv.Error as exc:
        raise Invalid(f"not readable as CSV: {exc}", field=field) from exc
    return points


def _expected(row: dict, line: int, field: str) -> DemandPoint:
    code = postal_codes.find(row["postal_code"])
    if code is None:
        raise Invalid(f"line {line}: {row['postal_code']!r} is not a known US postal code",
                      field=field)
    patients = _number(row["expected_patients"], line, "expected_patients", field, integer=True)
    weekly = DEFAULT_VISITS_PER_WEEK
    if row.get("visits_per_week"):
        weekly = _number(row["visits_per_week"], line, "visits_per_week", field)
        if weekly > 7 * 24:
            raise Invalid(f"line {line}: visits_per_week is at most 168", field=field)
    if not 1 <= patients <= MAX_EXPECTED_PATIENTS:
        raise Invalid(f"line {line}: expected_patients is 1 to {MAX_EXPECTED_PATIENTS}",
                      field=field)
    return DemandPoint(lat=code.lat, lon=code.lon, visits_per_week=patients * weekly,
                       postal_code=code.code, patients=patients)


def _number(text: str, line: int, column: str, field: str, integer: bool = False):
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or value != value or value <= 0 or value == float("inf"):
        kind = "a whole number" if integer else "a number"
        raise Invalid(f"line {line}: {column} must be {kind} above 0", field=field)
    return value
