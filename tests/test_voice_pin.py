"""Voice check-ins from a patient's home landline, the nurse proving who they are by PIN."""

import re

import pytest
from sqlalchemy import select

from opsbackend.domain.registry import nurse_pins
from opsbackend.models import AuditEvent, CheckIn, Home, Nurse
from tests.factories import count_rows
from tests.phone import voice

LANDLINE = "+16265550777"
PIN = "4821"


@pytest.fixture
def at_home(factory, clock, database):
    """A nurse with a PIN, on the unit of a visit whose patient's home has a landline."""
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, pin=PIN)
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    with database.transaction() as session:
        home = session.scalars(select(Home).where(Home.patient_id == course.patient_id)).one()
        home.landline_phone = LANDLINE
    clock.advance(hours=23)
    return nurse, visit


def next_url(response) -> str:
    """Where the TwiML sends the caller's keys next (the Gather's action)."""
    return re.search(r'<Gather action="([^"]+)"', response.get_data(as_text=True)).group(1) \
        .replace("&amp;", "&")


def when_silent(response) -> str:
    """Where the TwiML goes when no key is pressed (the <Redirect>)."""
    return re.search(r"<Redirect[^>]*>([^<]+)</Redirect>", response.get_data(as_text=True)) \
        .group(1).replace("&amp;", "&")


def test_a_nurse_checks_in_from_the_home_landline_with_number_and_pin(client, database,
                                                                       at_home):
    nurse, visit = at_home

    greeting = voice(client, "/twilio/voice", LANDLINE)
    asked_pin = voice(client, next_url(greeting), LANDLINE, str(nurse.id))
    asked_visit = voice(client, next_url(asked_pin), LANDLINE, PIN)
    menu = voice(client, next_url(asked_visit), LANDLINE, str(visit.id))
    done = voice(client, next_url(menu), LANDLINE, "1")

    assert "nurse number" in greeting.get_data(as_text=True)
    assert "visit code" in asked_visit.get_data(as_text=True)
    assert "Arrival at visit" in done.get_data(as_text=True)
    with database.new_session() as session:
        check_in = session.scalars(select(CheckIn)).one()
    assert (check_in.nurse_id, check_in.identity_method, check_in.location_method) == (
        nurse.id, "pin", "home_landline")
    assert check_in.caller_matched_home and not check_in.caller_matched_nurse


def test_a_wrong_pin_asks_again_then_refuses_and_records_nothing(client, database, at_home):
    nurse, visit = at_home

    url = next_url(voice(client, "/twilio/voice", LANDLINE))
    for _attempt in range(2):
        wrong = voice(client, next_url(voice(client, url, LANDLINE, str(nurse.id))), LANDLINE,
                      "0000")
        assert "do not match" in wrong.get_data(as_text=True)
        url = next_url(wrong)
    last = voice(client, next_url(voice(client, url, LANDLINE, str(nurse.id))), LANDLINE, "0000")

    assert "<Hangup" in last.get_data(as_text=True)
    assert "call dispatch" in last.get_data(as_text=True)
    assert count_rows(database, CheckIn) == 0
    with database.new_session() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("voice_pin_failed", "voice_refused")))).all()
    assert sorted(actions) == ["voice_pin_failed"] * 3 + ["voice_refused"]


def test_a_pin_locks_after_repeated_failures_even_when_then_right(database, clock, at_home):
    nurse, _visit = at_home
    with database.transaction() as session:
        for _ in range(nurse_pins.MAX_FAILURES):
            assert nurse_pins.verify(session, clock, nurse.id, "9999", caller=LANDLINE) is None
        assert nurse_pins.verify(session, clock, nurse.id, PIN, caller=LANDLINE) is None

    clock.advance(minutes=16)
    with database.transaction() as session:
        assert nurse_pins.verify(session, clock, nurse.id, PIN, caller=LANDLINE).id == nurse.id


def test_the_pin_step_cannot_be_skipped_by_naming_a_nurse_in_the_url(client, database,
                                                                      at_home):
    nurse, visit = at_home

    forged = voice(client, f"/twilio/voice/action?visit={visit.id}&nurse={nurse.id}",
                   "+19995550100", "1")

    assert "not registered" in forged.get_data(as_text=True)
    assert count_rows(database, CheckIn) == 0


def test_an_unknown_caller_that_is_no_home_landline_gets_no_pin_prompt(client, at_home):
    refused = voice(client, "/twilio/voice", "+19995550100").get_data(as_text=True)

    assert "not registered" in refused and "nurse number" not in refused


def test_a_pin_is_set_by_the_api_kept_only_as_a_hash_and_checked(client, auth, database,
                                                                  factory):
    nurse = factory.nurse()

    bad = client.patch(f"/api/v1/nurses/{nurse.id}", json={"pin": "12a4"},
                       headers=auth("dispatcher"))
    ok = client.patch(f"/api/v1/nurses/{nurse.id}", json={"pin": "123456"},
                      headers=auth("dispatcher"))

    assert bad.status_code == 422 and "pin" in bad.json["errors"]["json"]
    assert ok.status_code == 200 and ok.json["has_pin"] is True and "pin" not in ok.json
    with database.new_session() as session:
        stored = session.get(Nurse, nurse.id).pin_hash
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.table_name == "nurse", AuditEvent.action == "update")).one()
    assert "123456" not in stored
    assert event.changes["after"]["pin_hash"] == "[redacted]"


def test_silence_at_the_pin_prompt_asks_for_the_pin_again_and_counts_no_failure(
        client, database, at_home):
    nurse, _visit = at_home
    asked_pin = voice(client, next_url(voice(client, "/twilio/voice", LANDLINE)), LANDLINE,
                      str(nurse.id))

    asked_again = voice(client, when_silent(asked_pin), LANDLINE)

    assert "Enter your PIN" in asked_again.get_data(as_text=True)
    assert f"number={nurse.id}" in next_url(asked_again)
    with database.new_session() as session:
        assert session.scalars(select(AuditEvent).where(
            AuditEvent.action == "voice_pin_failed")).all() == []


def test_no_twiml_after_a_pin_carries_the_pin(client, at_home):
    nurse, _visit = at_home
    url = next_url(voice(client, "/twilio/voice", LANDLINE))
    pin_url = next_url(voice(client, url, LANDLINE, str(nurse.id)))

    right = voice(client, pin_url, LANDLINE, PIN).get_data(as_text=True)
    wrong = voice(client, pin_url, LANDLINE, "7777").get_data(as_text=True)

    assert PIN not in right and "7777" not in wrong
    assert "visit code" in right and "nurse number" in wrong
