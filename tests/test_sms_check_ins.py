"""Nurse SMS check-ins through the conversation (the webhook tests cover the HTTP side)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.phone.sms_conversation import handle_sms
from opsbackend.models import Bag, CheckIn, InboundMessage, Patient, PumpReport, Visit
from tests.factories import count_rows


@pytest.fixture
def crew(factory, clock):
    """A nurse on a unit, and a 24 h course whose first bag-change visit that unit has."""
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24,
                                   bag_volume_ml=240)
    visit = factory.assigned_visit(course, unit.id)
    clock.advance(hours=23)
    return nurse, course, visit


def text(database, clock, phone, body, sid=None):
    with database.transaction(actor="test:sms") as session:
        inbound = InboundMessage(provider_sid=sid or f"SM{count_rows(database, InboundMessage)}",
                                 from_phone=phone, body=body, received_at=clock.now())
        session.add(inbound)
        session.flush()
        return handle_sms(session, clock, inbound).text


def test_arrived_without_a_code_uses_the_only_current_visit(database, clock, crew):
    nurse, course, visit = crew

    reply = text(database, clock, nurse.phone, "arrived")

    assert reply.startswith("Recorded: arrived at ")
    assert f"(V{visit.id})" in reply and "Bag 1 due" in reply
    with database.new_session() as session:
        assert session.get(Visit, visit.id).status == "on_site"
        check_in = session.scalars(select(CheckIn)).one()
    assert (check_in.kind, check_in.channel, check_in.service_type) == (
        "arrived", "sms", "bag_change")
    assert check_in.caller_matched_nurse and check_in.nurse_on_assigned_unit
    assert check_in.identity_method == "registered_phone"
    assert check_in.location_method == "none"
    assert check_in.occurred_at == clock.now()


def test_changed_records_the_bag_change_and_gives_the_next_due_time(database, clock, crew):
    nurse, course, visit = crew
    text(database, clock, nurse.phone, f"ARRIVED V{visit.id}")

    reply = text(database, clock, nurse.phone, f"CHANGED V{visit.id} 230 no flush")

    assert "bag 1 changed" in reply and "Bag 2 hung" in reply
    assert "Never flush the line" in reply
    with database.new_session() as session:
        bags = session.scalars(select(Bag).order_by(Bag.sequence)).all()
    assert [b.sequence for b in bags] == [1, 2]
    assert bags[0].changed_by_nurse_id == nurse.id and bags[0].no_flush_confirmed is True
    assert bags[1].volume_ml == 230
    # Local time of the site (Los Angeles) in the reply: 23 h after 07:00 PST is 06:00 PST.
    assert "Tue Mar 3 06:00 PST" in reply


def test_a_late_change_says_how_late(database, clock, crew):
    nurse, _course, visit = crew
    clock.advance(hours=1, minutes=25)

    reply = text(database, clock, nurse.phone, f"changed V{visit.id} noflush")

    assert "(25 min late)" in reply


def test_pump_alarm_is_recorded_and_stays_open(database, clock, crew):
    nurse, course, visit = crew

    reply = text(database, clock, nurse.phone, "PUMP ALARM OCCLUSION 40%")

    assert "pump alarm occlusion" in reply and "PUMP RUNNING" in reply
    with database.new_session() as session:
        report = session.scalars(select(PumpReport)).one()
    assert (report.status, report.alarm_type, report.battery_pct, report.source) == (
        "alarm", "occlusion", 40, "sms")
    assert report.reported_by_nurse_id == nurse.id


def test_done_completes_the_visit(database, clock, crew):
    nurse, _course, visit = crew
    text(database, clock, nurse.phone, "ARRIVED")

    reply = text(database, clock, nurse.phone, "DONE")

    assert reply.startswith("Recorded: left")
    with database.new_session() as session:
        assert session.get(Visit, visit.id).status == "completed"


def test_spanish_speaking_nurse_gets_spanish_replies(database, clock, factory, crew):
    nurse, _course, visit = crew
    with database.transaction() as session:
        session.get(type(nurse), nurse.id).language = "es"

    reply = text(database, clock, nurse.phone, "llegué")
    wrong = text(database, clock, nurse.phone, "bomba")

    assert reply.startswith("Registrado: llegada")
    assert "mar 3 de mar 06:00 PST" in reply  # Tuesday, in Spanish, in the patient's zone
    assert wrong.startswith("No registrado:") and "BOMBA V123 FUNCIONANDO" in wrong


def test_a_spanish_pump_reply_names_the_state_and_alarm_in_spanish(database, clock, crew):
    nurse, _course, visit = crew
    with database.transaction() as session:
        session.get(type(nurse), nurse.id).language = "es"
    text(database, clock, nurse.phone, "llegué")

    alarm = text(database, clock, nurse.phone, "BOMBA ALARMA OCLUSION")
    running = text(database, clock, nurse.phone, "BOMBA FUNCIONANDO")

    assert "bomba en alarma (oclusión)" in alarm and "occlusion" not in alarm
    assert "bomba funcionando" in running and "running" not in running


def test_a_spanish_speaking_nurse_is_told_why_in_spanish(database, clock, crew):
    from opsbackend.domain.infusion import course_lifecycle

    nurse, course, visit = crew
    with database.transaction() as session:
        session.get(type(nurse), nurse.id).language = "es"
        course_lifecycle.pause_course(session, clock, course.id)  # cancels its visits

    unknown = text(database, clock, nurse.phone, "LLEGUE V999")
    cancelled = text(database, clock, nurse.phone, f"CAMBIO V{visit.id}")

    assert unknown == "No registrado: no existe la visita V999."
    assert cancelled == f"No registrado: V{visit.id} está cancelada."


def test_refusals_are_worded_per_language_and_fall_back_to_the_domain_message():
    from opsbackend.domain.errors import Conflict
    from opsbackend.domain.messaging.templates import refusal

    paused = Conflict("course 7 is paused; ...", reason="course_not_active", status="paused")

    assert refusal(paused, "es") == "la infusión está en pausa"
    assert refusal(paused, "en") == "the infusion is paused"
    assert refusal(Conflict("something rare happened"), "es") == "something rare happened"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", "the message was empty"),
        ("hello", "unknown command HELLO"),
        ("CHANGED lots", "CHANGED V123 250"),
        ("PUMP ALARM", "say which alarm"),
        ("PUMP RUNNING 300%", "battery must be"),
    ],
)
def test_what_was_not_understood_is_said_with_the_right_form(database, clock, crew, body,
                                                              expected):
    nurse, _course, _visit = crew

    reply = text(database, clock, nurse.phone, body)

    assert reply.startswith("Not recorded:")
    assert expected in reply
    assert count_rows(database, CheckIn) == 0


def test_a_visit_of_another_unit_is_refused(database, clock, factory, crew):
    nurse, course, _visit = crew
    with database.new_session() as session:
        site_id = session.get(Patient, course.patient_id).site_id
    other_course = factory.active_course(patient_id=factory.patient(site_id=site_id).id)
    theirs = factory.assigned_visit(other_course, factory.unit(site_id=site_id).id)

    reply = text(database, clock, nurse.phone, f"ARRIVED V{theirs.id}")

    assert "assigned to another unit" in reply
    assert count_rows(database, CheckIn) == 0


def test_two_current_visits_need_the_code(database, clock, factory, crew):
    nurse, _course, _visit = crew
    second = factory.active_course(bag_interval_hours=24, started_at=clock.now()
                                   - timedelta(hours=22))
    factory.assigned_visit(second, nurse.unit_id)

    reply = text(database, clock, nurse.phone, "ARRIVED")

    assert "2 visits now" in reply and "ARRIVED V123" in reply


def test_an_unknown_visit_code_is_named(database, clock, crew):
    nurse, _course, _visit = crew

    assert "no visit V999" in text(database, clock, nurse.phone, "ARRIVED V999")


def test_an_unregistered_number_is_told_politely(database, clock, crew):
    reply = text(database, clock, "+19995550100", "ARRIVED")

    assert "not registered" in reply
    assert count_rows(database, CheckIn) == 0


def test_help_lists_the_commands(database, clock, crew):
    nurse, _course, _visit = crew

    assert "ARRIVED V123" in text(database, clock, nurse.phone, "help")


def test_a_change_on_a_paused_course_is_not_recorded(database, clock, crew):
    from opsbackend.domain.infusion import course_lifecycle

    nurse, course, visit = crew
    with database.transaction() as session:
        session.get(Visit, visit.id)
        course_lifecycle.pause_course(session, clock, course.id)

    reply = text(database, clock, nurse.phone, f"CHANGED V{visit.id} NOFLUSH")

    assert reply.startswith("Not recorded:")
    assert count_rows(database, Bag) == 1


def test_a_pump_check_in_at_a_named_visit_reads_the_patient_and_home_once(database, clock,
                                                                          crew):
    # It runs for every check-in: the site check also reads what the reply names (study
    # code, time zone), and the home is read with the unit's last position.
    # bench_phone's same-work reference in SQL core runs these statements.
    from tests.statements import counted_statements

    nurse, course, visit = crew
    with counted_statements(database.engine) as sent:
        reply = text(database, clock, nurse.phone, f"PUMP V{visit.id} RUNNING", sid="SM1")
    seen = [s for s in sent if not s.startswith("BEGIN")]

    with database.new_session() as session:
        study_code = session.get(Patient, visit.patient_id).study_code
    assert f"pump running for {study_code}" in reply
    reads_of_patient = [s for s in seen if "FROM patient" in s]
    assert len(reads_of_patient) == 2, reads_of_patient  # the site check; home and unit
    assert not [s for s in seen if s.lstrip().startswith("SELECT") and "FROM home" in s]
    # The message, 11 to handle it, the check-in and one INSERT of the transaction's audit
    # events (the webhook adds the reply's UPDATE: bare_app's 14).
    assert len(seen) == 13, seen
