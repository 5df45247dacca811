"""What a dispatcher reads beside an id: the patient's study code and home area, the unit's
call sign. Lists read them for a whole page in two queries."""

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.records import Page
from opsbackend.models import Home, Patient, Unit, Visit


@dataclass(frozen=True)
class Label:
    study_code: str | None = None
    city: str | None = None
    postal_code: str | None = None
    call_sign: str | None = None


LABEL_FIELDS = tuple(f.name for f in fields(Label))


class Labelled:
    """A record read with its label: the record's attributes, the label's, and any
    ``extra`` values the list adds (a contact's name, ...)."""

    def __init__(self, record, label: Label, **extra):
        self.record = record
        self.label = label
        self.extra = extra

    def __getattr__(self, name):
        if name in LABEL_FIELDS:
            return getattr(self.label, name)
        if name in self.__dict__.get("extra", {}):
            return self.extra[name]
        return getattr(self.record, name)


def labels(session: Session, pairs: list[tuple[int | None, int | None]]) -> list[Label]:
    """A label for each (patient id, unit id)."""
    patient_ids = {p for p, _ in pairs if p is not None}
    unit_ids = {u for _, u in pairs if u is not None}
    homes = {row.id: row for row in session.execute(
        select(Patient.id, Patient.study_code, Home.city, Home.postal_code)
        .outerjoin(Home, Home.patient_id == Patient.id).where(Patient.id.in_(patient_ids))
    )} if patient_ids else {}
    signs = dict(session.execute(select(Unit.id, Unit.call_sign)
                                 .where(Unit.id.in_(unit_ids))).all()) if unit_ids else {}
    found = []
    for patient_id, unit_id in pairs:
        home = homes.get(patient_id)
        found.append(Label(home.study_code if home else None, home.city if home else None,
                           home.postal_code if home else None, signs.get(unit_id)))
    return found


def label_visits(session: Session, visits) -> list[Labelled]:
    found = labels(session, [(v.patient_id, v.unit_id) for v in visits])
    return [Labelled(v, label) for v, label in zip(visits, found, strict=True)]


def label_visit(session: Session, visit: Visit) -> Labelled:
    return label_visits(session, [visit])[0]


def label_by_visit(session: Session, records) -> list[Labelled]:
    """Records with a ``patient_id`` and a ``visit_id`` (alerts, exceptions): the unit is
    the visit's."""
    visit_ids = {r.visit_id for r in records if r.visit_id is not None}
    units = dict(session.execute(select(Visit.id, Visit.unit_id)
                                 .where(Visit.id.in_(visit_ids))).all()) if visit_ids else {}
    found = labels(session, [(r.patient_id, units.get(r.visit_id)) for r in records])
    return [Labelled(r, label) for r, label in zip(records, found, strict=True)]


def label_plan(session: Session, plan) -> Labelled:
    """A day plan whose stops and left-out visits carry their patient's study code and area."""
    content = plan.routes
    entries = ([stop for route in content.get("routes", []) for stop in route["stops"]]
               + list(content.get("unassigned", [])))
    visit_ids = {entry["visit_id"] for entry in entries}
    patients = dict(session.execute(select(Visit.id, Visit.patient_id)
                                    .where(Visit.id.in_(visit_ids))).all()) if visit_ids else {}
    found = dict(zip(visit_ids, labels(session, [(patients.get(v), None) for v in visit_ids]),
                     strict=True))
    named = {id(entry): {"study_code": found[entry["visit_id"]].study_code,
                         "city": found[entry["visit_id"]].city,
                         "postal_code": found[entry["visit_id"]].postal_code}
             for entry in entries}
    routes = [route | {"stops": [stop | named[id(stop)] for stop in route["stops"]]}
              for route in content.get("routes", [])]
    unassigned = [entry | named[id(entry)] for entry in content.get("unassigned", [])]
    return Labelled(plan, Label(), routes=content | {"routes": routes,
                                                     "unassigned": unassigned})


def label_page(session: Session, page: Page, label) -> Page:
    return Page(label(session, page.items), page.total, page.page, page.page_size)
