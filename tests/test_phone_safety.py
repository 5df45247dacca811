"""Phone steps recorded once, for the right nurse (issue 12 §3-5): voice steps claimed by
CallSid + step, PIN guesses counted one at a time, every change naming who made it, and
no PHI in the logs."""

import logging
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from opsbackend.models import AuditEvent, Bag, CheckIn, Contact, Home, PinGuard
from tests.factories import count_rows
from tests.phone import signed_post, sms, voice

LANDLINE = "+16265550788"
PIN = "4821"


@pytest.fixture
def crew(factory, clock, database):
    """A site's crew, the nurse with a PIN, the patient's home with a landline; the bag is
    due in an hour."""
    crew = factory.crew(phone="+12135550190", pin=PIN)
    with database.transaction(actor="test:factory") as session:
        home = session.scalars(select(Home).where(Home.patient_id == crew.patient.id)).one()
        home.landline_phone = LANDLINE
    clock.advance(hours=23)
    return crew


def together(count: int, work) -> list:
    """Run ``work`` in ``count`` threads released at once; their results. One call first
    warms the process (metrics.py builds its collectors on the first request, unlocked)."""
    start = threading.Barrier(count)
    results = []

    def run():
        start.wait()
        results.append(work())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres_only
def test_six_concurrent_deliveries_of_one_voice_bag_change_record_one(app, database, crew):
    step = f"/twilio/voice/no-flush?visit={crew.visit.id}"
    app.test_client().get("/healthz")

    replies = together(6, lambda: voice(app.test_client(), step, crew.nurse.phone, "1",
                                        call_sid="CAsix").get_data(as_text=True))

    assert all("Bag change recorded" in reply for reply in replies)
    assert count_rows(database, Bag, Bag.course_id == crew.course.id) == 2
    assert count_rows(database, CheckIn, CheckIn.kind == "bag_changed") == 1


def test_a_voice_step_of_another_call_is_recorded_again(client, database, crew):
    step = f"/twilio/voice/action?visit={crew.visit.id}"

    voice(client, step, crew.nurse.phone, "1", call_sid="CAone")
    voice(client, step, crew.nurse.phone, "1", call_sid="CAone")
    voice(client, step, crew.nurse.phone, "1", call_sid="CAtwo")

    assert count_rows(database, CheckIn, CheckIn.kind == "arrived") == 2


@pytest.mark.postgres_only
def test_sixteen_concurrent_wrong_pins_leave_five_failures_and_a_lock(app, database, crew):
    path = f"/twilio/voice/pin?number={crew.nurse.id}"
    app.test_client().get("/healthz")

    together(16, lambda: voice(app.test_client(), path, LANDLINE, "0000"))
    right = voice(app.test_client(), path, LANDLINE, PIN)

    assert count_rows(database, AuditEvent, AuditEvent.action == "voice_pin_failed") == 5
    assert "visit code" not in right.get_data(as_text=True)
    with database.new_session() as session:
        guard = session.scalars(select(PinGuard).where(
            PinGuard.subject == f"nurse:{crew.nurse.id}")).one()
    assert guard.failures == 5 and guard.locked_until is not None


def test_one_number_guessing_many_nurses_is_locked_and_cannot_stretch_the_lock(
        client, clock, database, factory, crew):
    others = [factory.nurse(pin="1111").id for _ in range(5)]
    for nurse_id in others:  # five wrong PINs for five nurses: the number is locked
        voice(client, f"/twilio/voice/pin?number={nurse_id}", LANDLINE, "0000")
    path = f"/twilio/voice/pin?number={crew.nurse.id}"
    refused = voice(client, path, LANDLINE, PIN)
    clock.advance(minutes=10)
    voice(client, path, LANDLINE, "0000")  # guessing during the lock does not extend it
    clock.advance(minutes=6)
    accepted = voice(client, path, LANDLINE, PIN)

    assert "visit code" not in refused.get_data(as_text=True)
    assert "visit code" in accepted.get_data(as_text=True)


def test_phone_changes_name_who_made_them(client, database, clock, crew):
    sms(client, crew.nurse.phone, "ARRIVED")
    landline = voice(client, f"/twilio/voice/pin?number={crew.nurse.id}", LANDLINE, PIN)
    voice(client, f"/twilio/voice/action?visit={crew.visit.id}&nurse={crew.nurse.id}",
          LANDLINE, "4", call_sid="CApin")
    with database.new_session() as session:
        contact = session.scalars(select(Contact).where(
            Contact.patient_id == crew.patient.id)).first()
    sms(client, contact.phone, "STOP")

    assert "visit code" in landline.get_data(as_text=True)
    with database.new_session() as session:
        actors = {(e.table_name, e.actor) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.actor != "test:factory"))}
    assert ("check_in", f"nurse:{crew.nurse.id} via sms") in actors
    assert ("check_in", f"nurse:{crew.nurse.id} via voice (pin)") in actors
    assert ("contact", f"contact:{contact.id} via sms") in actors
    assert not [actor for _table, actor in actors if actor in ("anonymous", "system")]


def test_a_status_callback_is_audited_as_twilio(client, database, clock):
    from opsbackend.domain.messaging import outbox

    with database.transaction(actor="test:factory") as session:
        message = outbox.queue_message(session, clock, to_phone="+12135550131", body="x",
                                       template="t", purpose="safety")
        message.status, message.provider_sid = "sent", "SMaudit"

    signed_post(client, f"/twilio/status?outbox_id={message.id}",
                {"MessageSid": "SMaudit", "MessageStatus": "delivered"})

    with database.new_session() as session:
        actors = set(session.scalars(select(AuditEvent.actor).where(
            AuditEvent.table_name == "outbound_message", AuditEvent.action == "update",
            AuditEvent.actor != "test:factory")))
    assert actors == {"twilio:status"}


def test_no_name_or_address_reaches_the_logs_when_an_insert_fails(database, caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("opsbackend")
    with database.new_session() as session:
        session.add(Home(patient_id=987654, address_line1="742 Evergreen Terrace",
                         city="Springfield", postal_code="97475"))
        session.add(Contact(patient_id=987654, name="Marjorie Bouvier", phone="+16265550999",
                            relationship="mother"))
        with pytest.raises(IntegrityError) as failed:
            session.flush()
        log.exception("insert failed")
        session.rollback()

    assert "Evergreen" not in caplog.text and "Bouvier" not in caplog.text
    assert "Evergreen" not in str(failed.value) and "Bouvier" not in str(failed.value)
    assert "parameters hidden" in str(failed.value)


def test_a_voice_bag_change_needs_the_no_flush_key(client, database, crew):
    asked = voice(client, f"/twilio/voice/action?visit={crew.visit.id}", crew.nurse.phone, "2",
                  call_sid="CAflush")
    flushed = voice(client, f"/twilio/voice/no-flush?visit={crew.visit.id}", crew.nurse.phone,
                    "3", call_sid="CAflush")

    assert "Press 1 to confirm the line was not flushed" in asked.get_data(as_text=True)
    assert "not recorded" in flushed.get_data(as_text=True)
    assert count_rows(database, Bag, Bag.course_id == crew.course.id) == 1


def test_voice_override_checks_in_at_another_units_visit_with_an_evv_exception(
        client, factory, database, clock, crew):
    from datetime import timedelta

    from opsbackend.models import EvvException

    other_unit = factory.unit(site_id=crew.site.id)
    course = factory.active_course(patient_id=factory.patient(site_id=crew.site.id).id,
                                   bag_interval_hours=24,
                                   started_at=clock.now() - timedelta(hours=23))
    theirs = factory.assigned_visit(course, other_unit.id)

    asked = voice(client, "/twilio/voice/visit", crew.nurse.phone, str(theirs.id))
    menu = voice(client, f"/twilio/voice/override?visit={theirs.id}", crew.nurse.phone, "9")
    arrived = voice(client, f"/twilio/voice/action?visit={theirs.id}&override=1",
                    crew.nurse.phone, "1", call_sid="CAover")

    assert "Press 9" in asked.get_data(as_text=True)
    assert "override=1" in menu.get_data(as_text=True)
    assert "Arrival at visit" in arrived.get_data(as_text=True)
    with database.new_session() as session:
        details = session.scalars(select(EvvException.detail).where(
            EvvException.visit_id == theirs.id,
            EvvException.kind == "not_assigned_unit")).all()
    assert len(details) == 1 and "OVERRIDE" in details[0]


def test_an_integrity_error_in_a_request_logs_codes_not_values(app, database, caplog):
    """PostgreSQL's own error text names a clashing key's value ("Key (phone)=(...)")."""
    from opsbackend.api import context
    from opsbackend.api.auth import PUBLIC
    from opsbackend.models import SmsOptOut

    family_phone = "+16265550998"
    with database.transaction(actor="test:factory") as session:
        session.add(SmsOptOut(phone=family_phone, changed_at=database.clock.now()))

    def insert_twice():
        session = context.session()
        session.add(SmsOptOut(phone=family_phone, changed_at=database.clock.now()))
        session.flush()
        return "", 204

    insert_twice.access_policy = PUBLIC
    app.add_url_rule("/test/insert-twice", "insert_twice", insert_twice, methods=["POST"])
    caplog.set_level(logging.DEBUG)

    response = app.test_client().post("/test/insert-twice")

    assert response.status_code == 409 and family_phone not in response.get_data(as_text=True)
    assert family_phone not in caplog.text
    assert not [r for r in caplog.records if family_phone in str(r.__dict__)]
    [logged] = [r for r in caplog.records if r.getMessage() == "integrity error"]
    assert logged.constraint in (None, "uq_sms_opt_out_phone") and logged.sqlstate


def test_a_voice_departure_needs_an_arrival(client, database, crew):
    step = f"/twilio/voice/action?visit={crew.visit.id}"

    refused = voice(client, step, crew.nurse.phone, "4", call_sid="CAleave")
    voice(client, step, crew.nurse.phone, "1", call_sid="CAarrive")
    left = voice(client, step, crew.nurse.phone, "4", call_sid="CAleave2")

    assert "nobody arrived" in refused.get_data(as_text=True)
    assert "Departure from visit" in left.get_data(as_text=True)
    assert count_rows(database, CheckIn, CheckIn.kind == "departed") == 1
