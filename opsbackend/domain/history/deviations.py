"""Protocol deviations: written once per cause by the rule that detects it."""

import csv
import io
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.interop.webhook_events import deviation_recorded
from opsbackend.domain.records import Page, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Deviation, Patient

CSV_COLUMNS = (
    "id", "kind", "occurred_at", "site_id", "patient_id", "course_id", "bag_id", "visit_id",
    "minutes", "evidence",
)


def record_deviation(
    session: Session, *, kind: str, dedupe_key: str, patient: Patient, occurred_at: datetime,
    course_id=None, bag_id=None, visit_id=None, minutes: int | None = None,
    evidence: dict | None = None,
) -> Deviation:
    """Write the deviation unless this cause was already recorded; returns the one on record."""
    existing = session.scalars(select(Deviation).where(Deviation.dedupe_key == dedupe_key)).first()
    if existing is not None:
        return existing
    deviation = Deviation(
        kind=kind, dedupe_key=dedupe_key, site_id=patient.site_id, patient_id=patient.id,
        course_id=course_id, bag_id=bag_id, visit_id=visit_id, occurred_at=occurred_at,
        minutes=minutes, evidence=evidence or {},
    )
    session.add(deviation)
    session.flush()
    deviation_recorded(session, deviation, patient.study_code)
    return deviation


def deviations_query(scope: Scope, *, site_id=None, patient_id=None, kind=None, since=None,
                     until=None):
    stmt = (select(Deviation).where(scope.where(Deviation.site_id))
            .order_by(Deviation.occurred_at, Deviation.id))
    if site_id is not None:
        stmt = stmt.where(Deviation.site_id == site_id)
    if patient_id is not None:
        stmt = stmt.where(Deviation.patient_id == patient_id)
    if kind is not None:
        stmt = stmt.where(Deviation.kind == kind)
    if since is not None:
        stmt = stmt.where(Deviation.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(Deviation.occurred_at < until)
    return stmt


def list_deviations(session: Session, scope: Scope, *, page: int, page_size: int,
                    **filters) -> Page:
    return paginate(session, deviations_query(scope, **filters), page, page_size)


def deviations_csv(session: Session, scope: Scope, **filters) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for deviation in session.scalars(deviations_query(scope, **filters)):
        row = [getattr(deviation, column) for column in CSV_COLUMNS]
        row[CSV_COLUMNS.index("occurred_at")] = deviation.occurred_at.isoformat()
        row[CSV_COLUMNS.index("evidence")] = _evidence_text(deviation.evidence)
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def _evidence_text(evidence: dict) -> str:
    return "; ".join(f"{key}={value}" for key, value in sorted(evidence.items()))
