"""No-call alerts: an assigned visit with no check-in past its window's opening plus the
site's grace raises late_unit; the family hears a new ETA once the unit says where it is
or the dispatcher sets one."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import lateness
from opsbackend.models import OutboundMessage
from tests.phone import sms
from tests.statements import counted_statements
from tests.test_alerts_and_jobs import alerts

WINDOW_OPENS = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)  # Tuesday 05:00 in Los Angeles
DISPATCH = "+13105550101"


@pytest.fixture
def assigned(factory):
    """A 24 h course's first bag-change visit (window Tue 13:00-15:00 UTC), assigned to a
    unit with one nurse."""
    site = factory.site()
    unit = factory.unit(site_id=site.id)
    nurse = factory.nurse(unit_id=unit.id, site_id=site.id)
    patient = factory.patient(site_id=site.id)
    course = factory.active_course(patient_id=patient.id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    return site, unit, nurse, patient, visit


def scan(database, clock):
    with database.transaction() as session:
        return lateness.scan_late_units(session, clock)


def sent_to(database, phone, template=None):
    with database.new_session() as session:
        stmt = select(OutboundMessage).where(OutboundMessage.to_phone == phone)
        if template:
            stmt = stmt.where(OutboundMessage.template == template)
        return session.scalars(stmt.order_by(OutboundMessage.id)).all()


def test_a_scan_after_the_alerts_were_raised_reads_no_visit_again(database, clock, factory,
                                                                 assigned):
    """It runs every minute over every visit under way: no query per late visit."""
    _site, unit, _nurse, _patient, _visit = assigned
    for _ in range(4):
        course = factory.active_course(patient_id=factory.patient(site_id=unit.site_id).id,
                                       bag_interval_hours=24)
        factory.assigned_visit(course, unit.id)
    clock.set(WINDOW_OPENS - timedelta(hours=1))
    with counted_statements(database.engine) as nothing_late:
        scan(database, clock)
    clock.set(WINDOW_OPENS + timedelta(minutes=20))
    first = scan(database, clock)

    with counted_statements(database.engine) as all_alerted:
        again = scan(database, clock)

    assert first[1] == 5 and again == (0, 0, 0)
    assert len(all_alerted) == len(nothing_late)


def test_no_check_in_fifteen_minutes_into_the_window_alerts_unit_and_dispatch(
        database, clock, assigned):
    _site, unit, nurse, patient, visit = assigned
    clock.set(WINDOW_OPENS + timedelta(minutes=14))
    early = scan(database, clock)
    clock.set(WINDOW_OPENS + timedelta(minutes=15))

    scan(database, clock)
    scan(database, clock)

    assert early[1] == 0
    [alert] = alerts(database, "late_unit")
    assert (alert.visit_id, alert.status) == (visit.id, "open")
    assert alert.summary.startswith(patient.study_code) and unit.call_sign in alert.summary
    assert len(sent_to(database, nurse.phone)) == 1
    assert "LATE" in sent_to(database, DISPATCH)[0].body


def test_the_grace_is_a_site_setting(client, auth, database, clock, assigned):
    site, *_ = assigned
    client.patch(f"/api/v1/sites/{site.id}", json={"late_unit_grace_minutes": 30},
                 headers=auth("admin"))
    clock.set(WINDOW_OPENS + timedelta(minutes=20))

    assert scan(database, clock)[1] == 0


def test_the_alert_closes_when_the_nurse_checks_in(client, database, clock, assigned):
    _site, _unit, nurse, _patient, visit = assigned
    clock.set(WINDOW_OPENS + timedelta(minutes=20))
    scan(database, clock)

    sms(client, nurse.phone, f"ARRIVED V{visit.id}")
    scan(database, clock)

    [alert] = alerts(database, "late_unit")
    assert alert.status == "resolved"


def test_an_unassigned_visit_is_not_a_late_unit(factory, database, clock):
    course = factory.active_course(bag_interval_hours=24)
    assert course.id
    clock.set(WINDOW_OPENS + timedelta(minutes=30))

    scan(database, clock)

    assert alerts(database, "late_unit") == []


def test_the_units_position_gives_the_family_a_new_eta(client, auth, database, clock,
                                                      assigned):
    _site, unit, _nurse, patient, visit = assigned
    family = patient.contacts[0].phone
    clock.set(WINDOW_OPENS + timedelta(minutes=20))
    scan(database, clock)
    headers = auth("nurse")

    # ~20 km from the home (Pasadena 34.1478,-118.1445): about 20-30 minutes of driving.
    client.post(f"/api/v1/units/{unit.id}/location", json={"lat": 33.97, "lon": -118.14},
                headers=headers)
    clock.advance(minutes=1)
    client.post(f"/api/v1/units/{unit.id}/location", json={"lat": 33.972, "lon": -118.14},
                headers=headers)

    [notice] = sent_to(database, family, "visit.running_late")
    visit_now = client.get(f"/api/v1/visits/{visit.id}", headers=auth("viewer")).json
    eta = datetime.fromisoformat(visit_now["eta"])
    assert eta.minute % 5 == 0 and eta > clock.now()
    assert "running late" in notice.body
    assert (eta - timedelta(hours=8)).strftime("%H:%M") in notice.body  # Los Angeles time
    assert notice.next_attempt_at is None  # quiet hours or not


def test_a_dispatchers_eta_for_a_late_visit_is_texted_and_for_an_early_one_not(
        client, auth, database, clock, assigned):
    _site, _unit, _nurse, patient, visit = assigned
    family = patient.contacts[0].phone
    headers = auth("dispatcher")
    clock.set(WINDOW_OPENS - timedelta(minutes=30))
    early = client.post(f"/api/v1/visits/{visit.id}/eta", headers=headers,
                        json={"eta": "2026-03-03T13:10:00Z"})
    clock.set(WINDOW_OPENS + timedelta(minutes=20))
    scan(database, clock)

    late = client.post(f"/api/v1/visits/{visit.id}/eta", headers=headers,
                       json={"eta": "2026-03-03T14:02:00Z"})
    past = client.post(f"/api/v1/visits/{visit.id}/eta", headers=headers,
                       json={"eta": "2026-03-03T12:00:00Z"})

    assert early.status_code == 200 and late.status_code == 200
    assert late.json["eta"] == "2026-03-03T14:05:00+00:00"
    [notice] = sent_to(database, family, "visit.running_late")
    assert "06:05" in notice.body  # 14:05 UTC in Los Angeles
    assert past.status_code == 422 and "eta" in past.json["errors"]["json"]
