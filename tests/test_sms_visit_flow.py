"""The SMS check-in flow for the right visit (issue 12 §3): no bag change without the
no-flush word, PUMP and DONE after CHANGED, DONE only where the nurse arrived, check-ins
only at the nurse's sites, another unit's visit only with OVERRIDE (an EVV exception)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsbackend.models import Bag, CheckIn, EvvException, PumpReport, Visit
from tests.factories import count_rows
from tests.phone import reply_text, sms


@pytest.fixture
def crew(factory, clock):
    crew = factory.crew(phone="+12135550161")
    clock.advance(hours=23)
    return crew


def say(client, crew, body) -> str:
    return reply_text(sms(client, crew.nurse.phone, body))


def visit_status(database, visit_id) -> str:
    with database.new_session() as session:
        return session.get(Visit, visit_id).status


def test_changed_without_the_no_flush_word_is_refused_and_says_how(client, database, crew):
    refused = say(client, crew, "CHANGED 240")
    accepted = say(client, crew, "CHANGED 240 NO FLUSH")

    assert refused.startswith("Not recorded") and "NOFLUSH" in refused
    assert "Bag 2 hung" in accepted
    with database.new_session() as session:
        assert session.scalars(select(Bag.no_flush_confirmed).where(
            Bag.sequence == 1, Bag.course_id == crew.course.id)).one() is True


def test_spanish_cambio_needs_sin_lavar(client, database, clock, crew):
    with database.transaction() as session:
        session.get(type(crew.nurse), crew.nurse.id).language = "es"

    refused = say(client, crew, "CAMBIO")

    assert refused.startswith("No registrado") and "SINLAVAR" in refused
    assert count_rows(database, Bag, Bag.course_id == crew.course.id) == 1


def test_after_changed_the_nurse_reports_the_pump_and_leaves(client, database, crew):
    say(client, crew, "ARRIVED")
    say(client, crew, "CHANGED NOFLUSH")
    still_there = visit_status(database, crew.visit.id)

    pump = say(client, crew, "PUMP RUNNING")
    done = say(client, crew, "DONE")

    assert still_there == "on_site"
    assert pump.startswith("Recorded") and done.startswith("Recorded: left")
    assert visit_status(database, crew.visit.id) == "completed"
    with database.new_session() as session:
        assert session.scalars(select(PumpReport.status)).all() == ["running"]
        kinds = session.scalars(select(CheckIn.kind).order_by(CheckIn.id)).all()
    assert kinds == ["arrived", "bag_changed", "pump_status", "departed"]


def test_done_without_a_code_never_closes_a_visit_nobody_arrived_at(client, database, crew):
    reply = say(client, crew, "DONE")
    named = say(client, crew, f"DONE V{crew.visit.id}")

    assert reply.startswith("Not recorded") and "arrived" in reply
    assert f"ARRIVED V{crew.visit.id}" in named
    assert visit_status(database, crew.visit.id) == "assigned"
    assert count_rows(database, CheckIn) == 0


def test_done_at_two_open_visits_is_refused_with_their_codes(client, factory, database,
                                                            clock, crew):
    patient = factory.patient(site_id=crew.site.id)
    other = factory.active_course(patient_id=patient.id, bag_interval_hours=24,
                                  started_at=clock.now() - timedelta(hours=22))
    second = factory.assigned_visit(other, crew.unit.id)
    say(client, crew, f"ARRIVED V{crew.visit.id}")
    say(client, crew, f"ARRIVED V{second.id}")

    reply = say(client, crew, "DONE")

    assert reply.startswith("Not recorded")
    assert f"V{crew.visit.id}" in reply and f"V{second.id}" in reply
    assert visit_status(database, crew.visit.id) == "on_site"


def test_a_nurse_checks_in_only_at_visits_of_their_sites(client, factory, database, crew):
    elsewhere = factory.crew(phone="+12135550162")  # another site's patient and unit
    with database.transaction() as session:
        visit = session.get(Visit, elsewhere.visit.id)
        visit.unit_id, visit.status = None, "unassigned"

    reply = say(client, crew, f"ARRIVED V{elsewhere.visit.id}")

    assert f"no visit V{elsewhere.visit.id}" in reply
    assert visit_status(database, elsewhere.visit.id) == "unassigned"
    assert count_rows(database, CheckIn) == 0


def test_override_checks_in_at_another_units_visit_with_an_evv_exception(
        client, factory, database, clock, crew):
    other_unit = factory.unit(site_id=crew.site.id)
    patient = factory.patient(site_id=crew.site.id)
    course = factory.active_course(patient_id=patient.id, bag_interval_hours=24,
                                   started_at=clock.now() - timedelta(hours=23))
    theirs = factory.assigned_visit(course, other_unit.id)

    refused = say(client, crew, f"ARRIVED V{theirs.id}")
    forced = say(client, crew, f"ARRIVED V{theirs.id} OVERRIDE")
    changed = say(client, crew, f"CHANGED V{theirs.id} NOFLUSH")

    assert "OVERRIDE" in refused
    assert forced.startswith("Recorded: arrived") and "Bag 2 hung" in changed
    with database.new_session() as session:
        [exception] = session.scalars(select(EvvException).where(
            EvvException.visit_id == theirs.id,
            EvvException.kind == "not_assigned_unit")).all()
    assert "OVERRIDE" in exception.detail


def test_an_api_bag_change_without_the_no_flush_confirmation_is_refused(client, auth, crew):
    refused = client.post(f"/api/v1/courses/{crew.course.id}/bag-changes",
                          json={"no_flush_confirmed": False}, headers=auth("dispatcher"))

    assert refused.status_code == 422 and "no_flush_confirmed" in str(refused.json)
