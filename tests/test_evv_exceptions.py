"""EVV: check-ins record how their place was verified; those that did not verify land in
the exception queue, which a supervisor clears with a reason code and a note."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from opsbackend.models import CheckIn, EvvException, Home
from tests.phone import sms, voice
from tests.test_voice_pin import LANDLINE, PIN, next_url

IN_THE_WINDOW = datetime(2026, 3, 3, 13, 30, tzinfo=UTC)  # window 13:00-15:00 UTC
HOME = (34.1478, -118.1445)  # the factory's Pasadena home


@pytest.fixture
def crew(factory, clock):
    """A nurse on a unit with an assigned bag-change visit, during its window."""
    site = factory.site()
    unit = factory.unit(site_id=site.id)
    nurse = factory.nurse(unit_id=unit.id, site_id=site.id, pin=PIN)
    patient = factory.patient(site_id=site.id)
    course = factory.active_course(patient_id=patient.id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    clock.set(IN_THE_WINDOW)
    return unit, nurse, visit


def queue(client, auth, **query):
    return client.get("/api/v1/evv-exceptions", query_string={"status": "open"} | query,
                      headers=auth("dispatcher")).json


def check_ins(database):
    with database.new_session() as session:
        return session.scalars(select(CheckIn).order_by(CheckIn.id)).all()


def test_an_sms_arrival_with_no_location_is_an_exception(client, auth, crew, database):
    unit, nurse, visit = crew

    sms(client, nurse.phone, f"ARRIVED V{visit.id}")

    [check_in] = check_ins(database)
    assert check_in.location_method == "none"
    [exception] = queue(client, auth)["items"]
    assert (exception["kind"], exception["visit_id"], exception["check_in_id"]) == (
        "no_location", visit.id, check_in.id)
    assert exception["call_sign"] == unit.call_sign and exception["nurse_name"] == nurse.name
    assert exception["study_code"] and exception["postal_code"] == "91101"


def test_the_units_position_near_the_home_verifies_an_sms_check_in(client, auth, crew,
                                                                   database, clock):
    unit, nurse, visit = crew
    client.post(f"/api/v1/units/{unit.id}/location", headers=auth("nurse"),
                json={"lat": HOME[0] + 0.001, "lon": HOME[1]})  # ~110 m away
    clock.advance(minutes=5)

    sms(client, nurse.phone, f"ARRIVED V{visit.id}")

    [check_in] = check_ins(database)
    assert check_in.location_method == "unit_gps"
    assert (check_in.lat, check_in.lon) == (HOME[0] + 0.001, HOME[1])
    assert queue(client, auth)["total"] == 0


@pytest.mark.parametrize(("offset", "minutes_ago"), [(0.003, 1), (0.001, 20)])
def test_a_position_too_far_or_too_old_verifies_nothing(client, auth, crew, database, clock,
                                                        offset, minutes_ago):
    unit, nurse, visit = crew
    client.post(f"/api/v1/units/{unit.id}/location", headers=auth("nurse"),
                json={"lat": HOME[0] + offset, "lon": HOME[1]})
    clock.advance(minutes=minutes_ago)

    sms(client, nurse.phone, f"ARRIVED V{visit.id}")

    assert check_ins(database)[0].location_method == "none"


def test_an_arrival_outside_the_window_and_off_the_unit(client, auth, factory, crew, database,
                                                        clock):
    _unit, nurse, visit = crew
    with database.transaction() as session:
        session.get(type(visit), visit.id).unit_id = None  # nobody's visit
        session.get(type(visit), visit.id).status = "unassigned"
    clock.set(IN_THE_WINDOW + timedelta(hours=2))  # the window closed at 15:00

    sms(client, nurse.phone, f"ARRIVED V{visit.id}")

    kinds = sorted(e["kind"] for e in queue(client, auth)["items"])
    assert kinds == ["no_location", "not_assigned_unit", "outside_window"]


def test_a_pump_report_is_no_evv_event(client, auth, crew):
    _unit, nurse, visit = crew

    sms(client, nurse.phone, f"PUMP V{visit.id} RUNNING")

    assert queue(client, auth)["total"] == 0


def test_a_voice_check_in_from_the_home_landline_verifies(client, auth, crew, database):
    _unit, nurse, visit = crew
    with database.transaction() as session:
        session.scalars(select(Home).where(Home.patient_id == visit.patient_id)).one() \
            .landline_phone = LANDLINE

    greeting = voice(client, "/twilio/voice", LANDLINE)
    asked_pin = voice(client, next_url(greeting), LANDLINE, str(nurse.id))
    asked_visit = voice(client, next_url(asked_pin), LANDLINE, PIN)
    menu = voice(client, next_url(asked_visit), LANDLINE, str(visit.id))
    voice(client, next_url(menu), LANDLINE, "1")

    assert check_ins(database)[0].location_method == "home_landline"
    assert queue(client, auth)["total"] == 0


def test_a_supervisor_clears_an_exception_with_a_reason_and_it_is_audited(client, auth, crew,
                                                                          database):
    _unit, nurse, visit = crew
    sms(client, nurse.phone, f"ARRIVED V{visit.id}")
    [exception] = queue(client, auth)["items"]
    url = f"/api/v1/evv-exceptions/{exception['id']}/clear"
    headers = auth("dispatcher")

    no_note = client.post(url, headers=headers, json={"reason_code": "gps_not_available"})
    made_up = client.post(url, headers=headers, json={"reason_code": "felt_right",
                                                      "note": "x"})
    by_nurse = client.post(url, headers=auth("nurse"),
                           json={"reason_code": "gps_not_available", "note": "x"})
    cleared = client.post(url, headers=headers, json={
        "reason_code": "verified_by_call_back", "note": "called the mother, nurse was there"})
    again = client.post(url, headers=headers, json={"reason_code": "caregiver_error",
                                                    "note": "x"})
    trail = client.get(f"/api/v1/audit-events?table_name=evv_exception&record_id="
                       f"{exception['id']}&action=update", headers=auth("admin")).json["items"]

    assert no_note.status_code == 422 and "note" in no_note.json["errors"]["json"]
    assert made_up.status_code == 422 and "reason_code" in made_up.json["errors"]["json"]
    assert by_nurse.status_code == 403
    assert cleared.status_code == 200
    assert (cleared.json["status"], cleared.json["reason_code"]) == ("cleared",
                                                                     "verified_by_call_back")
    assert again.status_code == 409
    [event] = trail
    assert "test dispatcher" in event["actor"]
    assert event["changes"]["after"]["reason_code"] == "verified_by_call_back"
    assert queue(client, auth)["total"] == 0


def test_an_exception_of_another_site_is_not_found(database, clock, crew, client):
    from opsbackend.domain.errors import NotFound
    from opsbackend.domain.phone import evv
    from opsbackend.domain.scope import Scope

    _unit, nurse, visit = crew
    sms(client, nurse.phone, f"ARRIVED V{visit.id}")
    with database.new_session() as session:
        exception = session.scalars(select(EvvException)).one()
        elsewhere = Scope(role="dispatcher", site_ids=frozenset({exception.site_id + 1}))
        listed = evv.list_exceptions(session, elsewhere, page=1, page_size=10)
        with pytest.raises(NotFound):
            evv.clear(session, clock, elsewhere, exception.id, "caregiver_error", "x", "me")
    assert listed.total == 0
