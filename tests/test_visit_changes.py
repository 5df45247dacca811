"""A dispatcher creates extra visits, moves and cancels visits: with reasons, SMS to the
family and the unit, the audit trail, and bags that keep their due time."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.infusion import visit_schedule
from opsbackend.models import Deviation, OutboundMessage, Visit

TUESDAY_0500_LA = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
# The unit works 03:00-19:00 in Los Angeles every day.
EARLY_DAYS = [{"weekday": d, "starts_at": time(3), "ends_at": time(19)} for d in range(7)]
SPANISH_MOTHER = dict(name="Lucia", relationship="mother", phone="+12135550144", language="es")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def day(factory):
    """A site, an early unit with one nurse, and a patient (Spanish-speaking mother) whose 24 h
    course started now: bag 1 is due Tuesday 07:00 in Los Angeles (15:00 UTC)."""
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                        skills=["pediatric"], shifts=EARLY_DAYS)
    nurse = factory.nurse(unit_id=unit.id, site_id=site.id, language="es")
    patient = factory.patient(site_id=site.id, contacts=[SPANISH_MOTHER])
    course = factory.active_course(patient_id=patient.id, bag_interval_hours=24)
    return site, unit, nurse, patient, course


def bag_visit(database, course) -> Visit:
    with database.new_session() as session:
        return session.scalars(select(Visit).where(Visit.course_id == course.id,
                                                   Visit.kind == "bag_change")
                               .order_by(Visit.window_start)).first()


def assigned_bag_visit(client, auth, database, course, unit):
    """The course's first bag-change visit, assigned through the API; and the headers."""
    visit = bag_visit(database, course)
    headers = auth("dispatcher")
    client.post(f"/api/v1/visits/{visit.id}/assign", json={"unit_id": unit.id},
                headers=headers)
    return visit, headers


def sms_to(database, phone) -> list[OutboundMessage]:
    with database.new_session() as session:
        return session.scalars(select(OutboundMessage).where(OutboundMessage.to_phone == phone)
                               .order_by(OutboundMessage.id)).all()


def test_a_dispatcher_creates_an_extra_pump_check(client, auth, day):
    _site, _unit, _nurse, patient, _course = day

    response = client.post("/api/v1/visits", headers=auth("dispatcher"), json={
        "patient_id": patient.id, "kind": "pump_check", "window_start": "2026-03-02T20:00:00Z",
        "window_end": "2026-03-02T22:00:00Z", "notes": "pump beeps", "required_skills":
        ["infant"]})

    assert response.status_code == 201, response.json
    visit = response.json
    assert (visit["kind"], visit["status"], visit["extra"]) == ("pump_check", "unassigned",
                                                                True)
    assert (visit["study_code"], visit["city"], visit["postal_code"]) == (
        patient.study_code, "Pasadena", "91101")
    assert visit["service_minutes"] == 30
    assert visit["required_skills"] == ["infant", "pediatric"]  # given + the skill rules'


def test_an_extra_visit_can_be_assigned_at_once(client, auth, day):
    _site, unit, _nurse, patient, _course = day

    visit = client.post("/api/v1/visits", headers=auth("dispatcher"), json={
        "patient_id": patient.id, "kind": "lab_draw", "window_start": "2026-03-02T20:00:00Z",
        "window_end": "2026-03-02T22:00:00Z", "unit_id": unit.id}).json

    assert (visit["status"], visit["call_sign"]) == ("assigned", unit.call_sign)
    assert visit["eta"] == "2026-03-02T20:00:00+00:00"


def test_two_extra_visits_at_one_home_on_one_unit_do_not_overlap(client, auth, day, database,
                                                                   clock):
    _site, unit, _nurse, patient, course = day
    with database.transaction() as session:  # the crew is on site at another visit now
        visit = session.get(Visit, bag_visit(database, course).id)
        visit.unit_id, visit.status, visit.arrived_at = unit.id, "on_site", clock.now()
        visit.window_start, visit.window_end = clock.now(), clock.now() + timedelta(hours=2)
    body = {"patient_id": patient.id, "kind": "lab_draw", "window_start": "2026-03-02T20:00:00Z",
            "window_end": "2026-03-02T22:00:00Z", "unit_id": unit.id}

    first = client.post("/api/v1/visits", headers=auth("dispatcher"), json=body).json
    second = client.post("/api/v1/visits", headers=auth("dispatcher"), json=body).json

    assert first["eta"] == "2026-03-02T20:00:00+00:00"
    assert second["eta"] == "2026-03-02T20:20:00+00:00"  # after the first's 20 minutes


@pytest.mark.parametrize(("change", "field"), [
    ({"window_end": "2026-03-02T19:00:00Z"}, "window_end"),  # before it starts
    ({"window_start": "2026-03-02T10:00:00Z", "window_end": "2026-03-02T11:00:00Z"},
     "window_end"),  # closed already
    ({"kind": "bag_change"}, "course_id"),  # a bag change needs the course
    ({"patient_id": 999999}, "patient_id"),
    ({"reason_code": "because"}, "reason_code"),
    ({"notes": "a\x00b"}, "notes"),
    ({"patient_id": 2**31}, "patient_id"),
])
def test_a_bad_extra_visit_is_a_422_naming_the_field(client, auth, day, change, field):
    _site, _unit, _nurse, patient, _course = day
    body = {"patient_id": patient.id, "kind": "pump_check",
            "window_start": "2026-03-02T20:00:00Z", "window_end": "2026-03-02T22:00:00Z"}

    response = client.post("/api/v1/visits", headers=auth("dispatcher"), json=body | change)

    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]


def test_a_bag_change_brought_forward_is_for_the_hanging_bag(client, auth, day):
    _site, _unit, _nurse, patient, course = day

    visit = client.post("/api/v1/visits", headers=auth("dispatcher"), json={
        "patient_id": patient.id, "course_id": course.id, "kind": "bag_change",
        "window_start": "2026-03-02T22:00:00Z", "window_end": "2026-03-03T00:00:00Z",
        "reason_code": "family_request"}).json

    assert visit["bag_id"] is not None and visit["reason_code"] == "family_request"


def test_moving_a_visit_tells_the_family_in_their_language_and_the_unit(client, auth, day,
                                                                         database):
    _site, unit, nurse, _patient, course = day
    visit, headers = assigned_bag_visit(client, auth, database, course, unit)

    response = client.patch(f"/api/v1/visits/{visit.id}", headers=headers, json={
        "window_start": iso(TUESDAY_0500_LA - timedelta(hours=1)),
        "window_end": iso(TUESDAY_0500_LA + timedelta(hours=1)),
        "reason_code": "family_request", "note": "school run"})

    assert response.status_code == 200, response.json
    moved = response.json
    assert (moved["status"], moved["unit_id"]) == ("assigned", unit.id)
    assert moved["eta"] == "2026-03-03T12:00:00+00:00"
    [family] = sms_to(database, SPANISH_MOTHER["phone"])
    assert family.template == "visit.changed" and "cambió" in family.body
    assert "04:00" in family.body  # 12:00 UTC in Los Angeles
    [crew] = sms_to(database, nurse.phone)
    assert crew.template == "unit.visit_moved" and f"V{visit.id}" in crew.body


def test_a_move_is_audited_with_the_dispatcher_and_the_reason(client, auth, day, database):
    _site, _unit, _nurse, _patient, course = day
    visit = bag_visit(database, course)
    headers = auth("dispatcher")

    client.patch(f"/api/v1/visits/{visit.id}", headers=headers, json={
        "window_start": iso(TUESDAY_0500_LA), "window_end": iso(TUESDAY_0500_LA
                                                                 + timedelta(hours=1)),
        "reason_code": "unit_unavailable", "note": "van in the shop"})
    trail = client.get(f"/api/v1/audit-events?table_name=visit&record_id={visit.id}"
                       "&action=move", headers=auth("admin")).json["items"]

    [event] = trail
    assert event["actor"].startswith("token:") and "test dispatcher" in event["actor"]
    assert event["changes"]["reason_code"] == "unit_unavailable"
    assert event["changes"]["note"] == "van in the shop"
    assert event["changes"]["after"]["window_end"] == "2026-03-03T14:00:00+00:00"


def test_a_moved_visit_keeps_its_window_when_the_schedule_runs_again(client, auth, day,
                                                                       database, clock):
    _site, _unit, _nurse, _patient, course = day
    visit = bag_visit(database, course)
    client.patch(f"/api/v1/visits/{visit.id}", headers=auth("dispatcher"), json={
        "window_start": iso(TUESDAY_0500_LA - timedelta(hours=2)),
        "window_end": iso(TUESDAY_0500_LA), "reason_code": "family_request"})

    with database.transaction() as session:
        visit_schedule.generate_visits(session, clock)

    assert bag_visit(database, course).window_end == TUESDAY_0500_LA


def test_moving_a_bag_change_past_its_bag_is_refused_unless_confirmed(client, auth, day,
                                                                     database):
    _site, _unit, _nurse, _patient, course = day
    visit = bag_visit(database, course)
    late = {"window_start": iso(TUESDAY_0500_LA + timedelta(hours=2)),
            "window_end": iso(TUESDAY_0500_LA + timedelta(hours=4)),
            "reason_code": "unit_unavailable"}
    headers = auth("dispatcher")

    refused = client.patch(f"/api/v1/visits/{visit.id}", headers=headers, json=late)
    unchanged = bag_visit(database, course)
    confirmed = client.patch(f"/api/v1/visits/{visit.id}", headers=headers,
                             json=late | {"confirm_late": True})

    assert refused.status_code == 409 and "window_end" in refused.json["errors"]["json"]
    assert "due" in refused.json["message"]
    assert unchanged.window_end == visit.window_end
    assert confirmed.status_code == 200
    with database.new_session() as session:
        [deviation] = session.scalars(select(Deviation).where(
            Deviation.kind == "planned_late_bag_change")).all()
    assert (deviation.visit_id, deviation.minutes) == (visit.id, 120)
    assert deviation.evidence["reason_code"] == "unit_unavailable"


def test_a_move_the_unit_cannot_make_puts_the_visit_back_on_the_board(client, auth, day,
                                                                       database):
    _site, unit, nurse, _patient, course = day
    visit, headers = assigned_bag_visit(client, auth, database, course, unit)

    # 01:00-03:00 in Los Angeles: the unit's shift opens at 03:00.
    moved = client.patch(f"/api/v1/visits/{visit.id}", headers=headers, json={
        "window_start": iso(TUESDAY_0500_LA - timedelta(hours=4)),
        "window_end": iso(TUESDAY_0500_LA - timedelta(hours=2)),
        "reason_code": "family_request"}).json

    assert (moved["status"], moved["unit_id"], moved["eta"]) == ("unassigned", None, None)
    [crew] = sms_to(database, nurse.phone)
    assert crew.template == "unit.visit_removed" and "ya no es suya" in crew.body


def test_cancelling_tells_family_and_unit_and_the_schedule_does_not_revive_it(
        client, auth, day, database, clock):
    _site, unit, nurse, _patient, course = day
    visit, headers = assigned_bag_visit(client, auth, database, course, unit)

    response = client.post(f"/api/v1/visits/{visit.id}/cancel", headers=headers,
                           json={"reason_code": "patient_hospitalised", "note": "admitted"})
    with database.transaction() as session:
        visit_schedule.generate_visits(session, clock)
    again = client.post(f"/api/v1/visits/{visit.id}/cancel", headers=headers,
                        json={"reason_code": "duplicate"})
    trail = client.get(f"/api/v1/audit-events?table_name=visit&record_id={visit.id}"
                       "&action=cancel", headers=auth("admin")).json["items"]

    assert response.status_code == 200
    assert (response.json["status"], response.json["reason_code"]) == (
        "cancelled", "patient_hospitalised")
    assert bag_visit(database, course).status == "cancelled"
    assert again.status_code == 409
    assert [m.template for m in sms_to(database, SPANISH_MOTHER["phone"])] == [
        "visit.cancelled"]
    assert [m.template for m in sms_to(database, nurse.phone)] == ["unit.visit_removed"]
    assert trail[0]["changes"]["reason_code"] == "patient_hospitalised"


def test_moves_and_cancels_need_a_reason_and_a_dispatcher(client, auth, day, database):
    _site, _unit, _nurse, _patient, course = day
    visit = bag_visit(database, course)

    no_reason = client.patch(f"/api/v1/visits/{visit.id}", headers=auth("dispatcher"),
                             json={"notes": "gate code 1234"})
    nurse = client.post(f"/api/v1/visits/{visit.id}/cancel", headers=auth("nurse"),
                        json={"reason_code": "duplicate"})
    missing = client.post("/api/v1/visits/999999/cancel", headers=auth("dispatcher"),
                          json={"reason_code": "duplicate"})

    assert no_reason.status_code == 422 and "reason_code" in no_reason.json["errors"]["json"]
    assert nurse.status_code == 403
    assert missing.status_code == 404


def test_a_change_for_another_day_waits_for_the_morning_a_same_day_one_does_not(
        client, auth, day, database, clock):
    _site, _unit, _nurse, patient, course = day
    clock.set(datetime(2026, 3, 3, 6, 30, tzinfo=UTC))  # Monday 22:30 in Los Angeles
    tomorrow = bag_visit(database, course)
    tonight = client.post("/api/v1/visits", headers=auth("dispatcher"), json={
        "patient_id": patient.id, "kind": "pump_check", "window_start": "2026-03-03T07:00:00Z",
        "window_end": "2026-03-03T07:45:00Z"}).json
    headers = auth("dispatcher")

    client.patch(f"/api/v1/visits/{tomorrow.id}", headers=headers, json={
        "window_start": iso(TUESDAY_0500_LA + timedelta(hours=1)),
        "window_end": iso(TUESDAY_0500_LA + timedelta(hours=2)),
        "reason_code": "family_request"})
    client.patch(f"/api/v1/visits/{tonight['id']}", headers=headers, json={
        "window_start": "2026-03-03T07:15:00Z", "window_end": "2026-03-03T07:55:00Z",
        "reason_code": "traffic_or_weather"})

    held, at_once = sms_to(database, SPANISH_MOTHER["phone"])
    assert held.next_attempt_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 07:00 local
    assert at_once.next_attempt_at is None


def test_an_extra_visit_changes_kind_a_scheduled_one_does_not(client, auth, day, database):
    _site, _unit, _nurse, patient, course = day
    headers = auth("dispatcher")
    extra = client.post("/api/v1/visits", headers=headers, json={
        "patient_id": patient.id, "kind": "pump_check", "window_start": "2026-03-02T20:00:00Z",
        "window_end": "2026-03-02T22:00:00Z"}).json

    changed = client.patch(f"/api/v1/visits/{extra['id']}", headers=headers, json={
        "kind": "lab_draw", "reason_code": "clinical_order", "required_skills": ["phlebotomy"]})
    scheduled = client.patch(f"/api/v1/visits/{bag_visit(database, course).id}",
                             headers=headers, json={"kind": "lab_draw",
                                                    "reason_code": "clinical_order"})

    assert changed.status_code == 200
    assert (changed.json["kind"], changed.json["service_minutes"]) == ("lab_draw", 20)
    assert changed.json["required_skills"] == ["pediatric", "phlebotomy"]
    assert scheduled.status_code == 422 and "kind" in scheduled.json["errors"]["json"]
