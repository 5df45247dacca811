"""Test data through the domain functions, with defaults a test overrides by keyword."""

import itertools
from datetime import UTC, date, datetime

from opsbackend.domain.infusion import course_lifecycle, courses
from opsbackend.domain.registry import nurses, patients, sites, tokens, units

_numbers = itertools.count(1)


def _unique() -> int:
    return next(_numbers)


def _generated_phone(prefix: str, n: int) -> str:
    """A number of the 2000-9999 block: tests write theirs by hand below it (555-0100 to
    555-0199 mostly), and a generated one equal to a test's own was refused as a
    duplicate whenever a worker's count reached it."""
    return f"{prefix}{2000 + n % 8000:04d}"


class Factory:
    def __init__(self, database):
        self.database = database

    def _create(self, function, data):
        with self.database.transaction(actor="test:factory") as session:
            return function(session, data)

    def site(self, **overrides):
        n = _unique()
        data = dict(
            code=f"S{n}", name=f"Site {n}", region="West", timezone="America/Los_Angeles",
            on_call_phone="+13105550100", dispatch_phone="+13105550101",
        )
        return self._create(sites.create_site, data | overrides)

    def patient(self, **overrides):
        n = _unique()
        if "site_id" not in overrides:
            overrides["site_id"] = self.site().id
        data = dict(
            study_code=f"P-{n:04d}", first_name="Ava", date_of_birth=date(2019, 5, 4),
            weight_kg=18.5, language="en",
            home=dict(address_line1=f"{n} Main St", city="Pasadena", state="CA",
                      postal_code="91101", lat=34.1478, lon=-118.1445),
            contacts=[dict(name="Grace", relationship="mother",
                           phone=_generated_phone("+1626555", n), language="en")],
        )
        return self._create(patients.create_patient, data | overrides)

    def patient_at(self, site_id: int, lat: float, lon: float, postal_code: str = "90012",
                   bag_interval_hours: int | None = 24, **overrides):
        """A patient whose home is at (lat, lon), with a course planned (unless None)."""
        n = _unique()
        patient = self.patient(site_id=site_id, home=dict(
            address_line1=f"{n} Home St", city="Somewhere", postal_code=postal_code,
            lat=lat, lon=lon), **overrides)
        if bag_interval_hours is not None:
            self.course(patient_id=patient.id, bag_interval_hours=bag_interval_hours)
        return patient

    def nurse(self, **overrides):
        n = _unique()
        data = dict(name=f"Nurse {n}", phone=_generated_phone("+1213555", n), skills=["pediatric"])
        return self._create(nurses.create_nurse, data | overrides)

    def unit(self, **overrides):
        n = _unique()
        if "site_id" not in overrides:
            overrides["site_id"] = self.site().id
        data = dict(call_sign=f"UNIT-{n}", base_lat=34.05, base_lon=-118.25,
                    skills=["pediatric"], shifts=[])
        return self._create(units.create_unit, data | overrides)

    def course(self, **overrides):
        if "patient_id" not in overrides:
            overrides["patient_id"] = self.patient().id
        data = dict(planned_start_at=datetime(2026, 3, 2, 16, tzinfo=UTC), bag_interval_hours=48)
        return self._create(
            lambda session, values: courses.create_course(session, self.database.clock, values),
            data | overrides,
        )

    def active_course(self, started_at=None, **overrides):
        """A course started (bag 1 hung) at ``started_at`` (default: now)."""
        course = self.course(**overrides)
        with self.database.transaction(actor="test:factory") as session:
            return course_lifecycle.start_course(
                session, self.database.clock, course.id, at=started_at
            )

    def assigned_visit(self, course, unit_id: int, kind="bag_change"):
        """The course's first open visit of ``kind``, handed to a unit (test data: no checks)."""
        from sqlalchemy import select

        from opsbackend.models import Visit

        with self.database.transaction(actor="test:factory") as session:
            visit = session.scalars(
                select(Visit).where(Visit.course_id == course.id, Visit.kind == kind,
                                    Visit.status == "unassigned").order_by(Visit.window_start)
            ).first()
            visit.unit_id, visit.status = unit_id, "assigned"
            return visit

    def webhook(self, site_id: int, url: str, events=None):
        """A subscription to every event (or ``events``) of the site; returns it with its
        secret (``.secret``)."""
        from opsbackend.domain.interop import webhook_subscriptions
        from opsbackend.domain.interop.webhooks import EVENT_TYPES
        from opsbackend.domain.scope import Scope
        from opsbackend.webhooks.targets import TargetPolicy

        with self.database.transaction(actor="test:factory") as session:
            created = webhook_subscriptions.create_subscription(
                session, Scope.everything(),
                {"site_id": site_id, "url": url, "events": list(events or EVENT_TYPES)},
                TargetPolicy())
        created.subscription.secret = created.secret
        return created.subscription

    def token(self, role: str, name: str | None = None, *, site_ids=None,
              nurse_id=None) -> str:
        """A token of the role; global (every site) unless ``site_ids`` are given."""
        with self.database.transaction(actor="test:factory") as session:
            _record, raw = tokens.issue_token(session, name=name or f"test {role}", role=role,
                                              site_ids=site_ids, nurse_id=nurse_id)
        return raw

    def crew(self, **options) -> "Crew":
        """A nurse, unit, patient and assigned visit of one site (see ``Crew``)."""
        return Crew(self, **options)

    def auth_headers(self, role: str, *, site_ids=None, nurse_id=None) -> dict:
        token = self.token(role, site_ids=site_ids, nurse_id=nurse_id)
        return {"Authorization": f"Bearer {token}"}


def count_rows(database, model, *where) -> int:
    from sqlalchemy import func, select

    with database.new_session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# Values a viewer must never read; ``Factory.site_world`` writes them into its records.
PHI = dict(first_name="Zinnia", contact_name="Quentin Marsh", nurse_name="Ottoline Vance",
           address_line1="742 Evergreen Terrace", city="Springfield", postal_code="97403",
           lat=34.987654, lon=-118.123456, landline="+13105559876", contact_phone="+13105559877",
           nurse_phone="+13105559878", birth="2020-02-29", base_lat=34.876543,
           base_lon=-118.234567, visit_note="gate code 4411, ask for Quentin")


class SiteWorld(dict):
    """The ids of one of each kind of record of one site, by the name an id goes by."""


def site_world(factory: Factory, phi: dict | None = None) -> SiteWorld:
    """A site with one record of each kind (patient, contact, course with bags and visits,
    unit with a shift exception, nurse, alert, deviation, call-back request, EVV exception,
    prepared bag, day plan, webhook subscription), for tests that walk every route."""
    from datetime import time, timedelta

    from sqlalchemy import select

    from opsbackend.domain.alerting import alerts
    from opsbackend.domain.history import deviations
    from opsbackend.domain.infusion import bag_custody
    from opsbackend.domain.messaging import callbacks
    from opsbackend.domain.phone import evv
    from opsbackend.domain.scope import Scope
    from opsbackend.models import Contact, DayPlan, Patient, Visit

    phi = phi or {}
    n = _unique()
    site = factory.site(code=f"W{n}", name=f"World {n}")
    unit = factory.unit(site_id=site.id, call_sign=f"WORLD-{n}",
                        base_lat=phi.get("base_lat", 34.05), base_lon=phi.get("base_lon", -118.2))
    nurse = factory.nurse(site_id=site.id, unit_id=unit.id,
                          name=phi.get("nurse_name", f"Nurse {n}"),
                          phone=phi.get("nurse_phone", f"+1213556{n % 10000:04d}"))
    patient = factory.patient(
        site_id=site.id, study_code=f"WORLD-{n:04d}", first_name=phi.get("first_name", "Ava"),
        date_of_birth=date.fromisoformat(phi.get("birth", "2019-05-04")),
        home=dict(address_line1=phi.get("address_line1", f"{n} Main St"),
                  city=phi.get("city", "Pasadena"), postal_code=phi.get("postal_code", "91101"),
                  lat=phi.get("lat", 34.1478), lon=phi.get("lon", -118.1445),
                  landline_phone=phi.get("landline")),
        contacts=[dict(name=phi.get("contact_name", "Grace"), relationship="mother",
                       phone=phi.get("contact_phone", f"+1626556{n % 10000:04d}"),
                       language="en")])
    course = factory.active_course(patient_id=patient.id)
    clock = factory.database.clock
    with factory.database.transaction(actor="test:factory") as session:
        patient = session.get(Patient, patient.id)
        contact = session.scalars(select(Contact).where(Contact.patient_id == patient.id)).one()
        visit = session.scalars(select(Visit).where(Visit.course_id == course.id)
                                .order_by(Visit.window_start)).first()
        bag_id = visit.bag_id
        visit.notes = phi.get("visit_note")
        alert = alerts.raise_alert(session, clock, kind="missed_bag_change",
                                   dedupe_key=f"world-{n}", site_id=site.id,
                                   summary=f"{patient.study_code} bag overdue",
                                   patient_id=patient.id, course_id=course.id,
                                   notify=False).alert
        deviation = deviations.record_deviation(
            session, kind="missed_visit", dedupe_key=f"world-{n}", patient=patient,
            occurred_at=clock.now(), course_id=course.id, visit_id=visit.id)
        callback = callbacks.request_callback(session, clock, contact, patient)
        exception = evv.record_exception(session, site_id=site.id, kind="location_unverified",
                                         visit_id=visit.id, nurse_id=nurse.id)
        prepared = bag_custody.release_bag(session, Scope.everything(), clock, course.id, dict(
            pharmacy_bag_id=f"RX-{n}", lot="L1", volume_ml=270))
        plan = DayPlan(site_id=site.id, day=clock.now().date(), seconds=1, routes={})
        session.add(plan)
        session.flush()
        world = SiteWorld(
            site_id=site.id, patient_id=patient.id, contact_id=contact.id,
            course_id=course.id, visit_id=visit.id, bag_id=bag_id, unit_id=unit.id,
            nurse_id=nurse.id, alert_id=alert.id, deviation_id=deviation.id,
            callback_id=callback.id, exception_id=exception.id,
            prepared_bag_id=prepared.id, plan_id=plan.id, study_code=patient.study_code,
            call_sign=unit.call_sign, site_code=site.code)
    with factory.database.transaction(actor="test:factory") as session:
        shift_exception = units.add_shift_exception(session, unit.id, dict(
            on_date=(clock.now() + timedelta(days=3)).date(), starts_at=time(8),
            ends_at=time(12)))
        world["shift_exception_id"] = shift_exception.id
    world["webhook_id"] = factory.webhook(site.id, "https://receiver.example/hook").id
    return world


class Crew:
    """One site's nurse on one of its units, a patient of the site on a running course,
    and that course's first bag-change visit assigned to the unit."""

    def __init__(self, factory: Factory, *, bag_interval_hours=24, site=None, **nurse):
        self.site = site or factory.site()
        self.unit = factory.unit(site_id=self.site.id)
        self.nurse = factory.nurse(site_id=self.site.id, unit_id=self.unit.id, **nurse)
        self.patient = factory.patient(site_id=self.site.id)
        self.course = factory.active_course(patient_id=self.patient.id,
                                            bag_interval_hours=bag_interval_hours)
        self.visit = factory.assigned_visit(self.course, self.unit.id)
