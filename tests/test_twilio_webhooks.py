import re
import threading

import pytest
from sqlalchemy import select

from opsbackend.app import create_app
from opsbackend.domain.errors import Conflict
from opsbackend.domain.phone.sms_conversation import handle_sms
from opsbackend.models import (
    AuditEvent,
    CallbackRequest,
    CheckIn,
    Contact,
    InboundMessage,
    OutboundMessage,
    PumpReport,
    Visit,
)
from opsbackend.phone.sms import SORRY
from tests.factories import count_rows
from tests.phone import reply_text, signed_post, sms, voice


@pytest.fixture
def crew(factory, clock):
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    clock.advance(hours=23)
    return nurse, course, visit


def test_a_forged_or_missing_signature_is_refused_and_nothing_stored(client, database, crew):
    nurse, _course, _visit = crew
    params = {"MessageSid": "SM1", "From": nurse.phone, "Body": "ARRIVED"}

    missing = client.post("/twilio/sms", data=params)
    forged = signed_post(client, "/twilio/sms", params, token="not-our-token")
    tampered = client.post("/twilio/sms", data=params | {"Body": "DONE"},
                           headers={"X-Twilio-Signature": signed_post.__name__})

    assert [r.status_code for r in (missing, forged, tampered)] == [403, 403, 403]
    assert missing.is_json
    assert count_rows(database, InboundMessage) == 0


def test_arrived_then_changed_by_sms(client, auth, database, crew):
    nurse, course, _visit = crew

    arrived = sms(client, nurse.phone, "ARRIVED")
    changed = sms(client, nurse.phone, "CHANGED 240 NOFLUSH")

    assert arrived.status_code == 200
    assert arrived.headers["Content-Type"].startswith("application/xml")
    assert reply_text(arrived).startswith("Recorded: arrived")
    assert "Bag 2 hung" in reply_text(changed)
    schedule = client.get(f"/api/v1/courses/{course.id}/schedule", headers=auth("viewer")).json
    assert schedule["hanging_bag"]["sequence"] == 2
    assert schedule["hanging_bag"]["volume_ml"] == 240
    assert count_rows(database, CheckIn) == 2


def test_a_retried_webhook_changes_nothing_and_gets_the_same_reply(client, database, crew):
    nurse, _course, _visit = crew

    first = sms(client, nurse.phone, "CHANGED NOFLUSH", sid="SMretry")
    again = sms(client, nurse.phone, "CHANGED NOFLUSH", sid="SMretry")

    assert reply_text(first) == reply_text(again)
    assert count_rows(database, InboundMessage) == 1
    assert count_rows(database, CheckIn) == 1


def test_a_retry_racing_the_first_delivery_gets_the_same_reply_and_records_once(
        app, database, crew):
    nurse, _course, _visit = crew
    start_together = threading.Barrier(2)
    replies = []

    def deliver():
        client = app.test_client()
        start_together.wait()
        replies.append(reply_text(sms(client, nurse.phone, "ARRIVED", sid="SMrace")))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(replies) == 2 and replies[0] == replies[1]
    assert replies[0].startswith("Recorded: arrived")
    assert count_rows(database, InboundMessage) == 1
    assert count_rows(database, CheckIn) == 1


def test_a_proxied_https_url_is_accepted_with_proxy_fix(settings, clock, database, crew):
    from dataclasses import replace

    nurse, _course, _visit = crew
    app = create_app(replace(settings, trusted_proxies=1), clock=clock)
    client = app.test_client()
    params = {"MessageSid": "SMproxy", "From": nurse.phone, "Body": "HELP"}
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ops.example.org"}

    accepted = signed_post(client, "/twilio/sms", params, base="https://ops.example.org",
                           headers=forwarded)
    internal = signed_post(client, "/twilio/sms", params | {"MessageSid": "SMproxy2"},
                           headers=forwarded)

    assert accepted.status_code == 200
    assert internal.status_code == 403
    app.extensions["database"].dispose()


def test_a_public_base_url_is_what_the_signature_covers(settings, clock, database, crew):
    from dataclasses import replace

    nurse, _course, _visit = crew
    app = create_app(replace(settings, public_base_url="https://ops.example.org"), clock=clock)
    params = {"MessageSid": "SMbase", "From": nurse.phone, "Body": "HELP"}

    response = signed_post(app.test_client(), "/twilio/sms", params,
                           base="https://ops.example.org")

    assert response.status_code == 200
    app.extensions["database"].dispose()


@pytest.mark.parametrize("body", ["", "x" * 2000, "😀🚑 llegué?", "DROP TABLE visit;"])
def test_odd_bodies_are_stored_and_answered(client, database, crew, body):
    nurse, _course, _visit = crew

    response = sms(client, nurse.phone, body)

    assert response.status_code == 200
    assert reply_text(response)
    with database.new_session() as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert stored.body == body[:1600]
    assert stored.reply_body == reply_text(response).replace("&amp;", "&")


def test_a_handler_crash_is_answered_kept_and_leaves_nothing_half_written(
        client, database, crew, monkeypatch):
    nurse, _course, _visit = crew

    def record_then_crash(session, clock, inbound, rules):
        handle_sms(session, clock, inbound, rules)  # records the arrival, flushed
        session.flush()
        raise RuntimeError("a bug after the check-in was written")

    monkeypatch.setattr("opsbackend.phone.sms.handle_sms", record_then_crash)
    response = sms(client, nurse.phone, "ARRIVED", sid="SMcrash")

    assert response.status_code == 200
    assert reply_text(response) == SORRY
    assert count_rows(database, CheckIn) == 0
    with database.new_session() as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert (stored.provider_sid, stored.handled_as, stored.body) == ("SMcrash", "error", "ARRIVED")


def test_a_check_in_refused_half_way_leaves_only_the_message_and_the_reply(
        client, database, crew, monkeypatch):
    nurse, _course, visit = crew

    def refuse_after_the_visit_moved(*_args, **_kwargs):
        raise Conflict("the check-in could not be stored", field="visit")

    monkeypatch.setattr("opsbackend.domain.phone.check_ins._record", refuse_after_the_visit_moved)
    response = sms(client, nurse.phone, "ARRIVED", sid="SMrefused")

    assert reply_text(response).startswith("Not recorded:")
    with database.new_session() as session:
        assert session.get(Visit, visit.id).status == "assigned"  # not left "on_site"
        stored = session.scalars(select(InboundMessage)).one()
    assert (stored.handled_as, stored.nurse_id) == ("refused:arrived", nurse.id)
    assert count_rows(database, CheckIn) == 0


def test_an_unregistered_number_gets_a_polite_reply(client, database, crew):
    response = sms(client, "+19995550100", "ARRIVED")

    assert "not registered" in reply_text(response)
    assert count_rows(database, CheckIn) == 0


def test_a_family_stop_suppresses_later_reminders_and_start_restores(client, database, clock,
                                                                     factory):
    from opsbackend.domain.messaging import outbox

    patient = factory.patient()
    phone = patient.contacts[0].phone

    stopped = sms(client, phone, "STOP")
    with database.transaction() as session:
        contact = session.get(Contact, patient.contacts[0].id)
        later = outbox.queue_message(session, clock, to_phone=phone, body="reminder",
                                     template="reminder.day_before", purpose="reminder",
                                     contact=contact)
        suppressed = later.status
    started = sms(client, phone, "START")

    assert "no more messages" in reply_text(stopped)
    assert suppressed == "suppressed"
    assert "again" in reply_text(started)
    with database.new_session() as session:
        assert session.get(Contact, patient.contacts[0].id).opted_out is False


def test_family_yes_call_and_help_in_spanish(client, database, clock, factory):
    patient = factory.patient(contacts=[{"name": "Lucia", "relationship": "mother",
                                         "phone": "+12135550111", "language": "es"}])
    factory.active_course(patient_id=patient.id, bag_interval_hours=24)

    yes = sms(client, "+12135550111", "Sí")
    call = sms(client, "+12135550111", "LLAMAR")
    help_ = sms(client, "+12135550111", "AYUDA")
    other = sms(client, "+12135550111", "qué?")

    assert reply_text(yes).startswith("Gracias. La visita del")
    assert "le llamará" in reply_text(call)
    assert "+13105550101" in reply_text(help_)
    assert reply_text(other).startswith("No entendimos")
    with database.new_session() as session:
        confirmed = session.scalars(select(Visit).where(
            Visit.patient_id == patient.id, Visit.family_confirmed_at.is_not(None))).all()
        assert len(confirmed) == 1
        assert session.scalars(select(CallbackRequest)).one().patient_id == patient.id


def test_status_callbacks_update_the_row_and_unknown_sids_are_fine(client, database, clock):
    from opsbackend.domain.messaging import outbox

    with database.transaction() as session:
        message = outbox.queue_message(session, clock, to_phone="+12135550131", body="x",
                                       template="t", purpose="safety")
        message.status, message.provider_sid = "sent", "SMabc"
        message_id = message.id

    delivered = signed_post(client, f"/twilio/status?outbox_id={message_id}",
                            {"MessageSid": "SMabc", "MessageStatus": "delivered"})
    unknown = signed_post(client, "/twilio/status",
                          {"MessageSid": "SMnobody", "MessageStatus": "failed",
                           "ErrorCode": "30003", "SomeNewField": "accepted"})
    unsigned = client.post("/twilio/status", data={"MessageSid": "SMabc",
                                                   "MessageStatus": "failed"})

    assert (delivered.status_code, unknown.status_code, unsigned.status_code) == (204, 204, 403)
    with database.new_session() as session:
        assert session.get(OutboundMessage, message_id).status == "delivered"


def test_the_voice_check_in_flow_end_to_end(client, database, crew):
    nurse, _course, visit = crew

    greeting = voice(client, "/twilio/voice", nurse.phone).get_data(as_text=True)
    menu = voice(client, "/twilio/voice/visit", nurse.phone, str(visit.id)).get_data(
        as_text=True)
    arrived = voice(client, f"/twilio/voice/action?visit={visit.id}", nurse.phone, "1")
    alarm_menu = voice(client, f"/twilio/voice/action?visit={visit.id}", nurse.phone, "3",
                       call_sid="CA2").get_data(as_text=True)
    alarm = voice(client, f"/twilio/voice/alarm?visit={visit.id}", nurse.phone, "2",
                  call_sid="CA2").get_data(as_text=True)

    assert "<Gather" in greeting and 'input="dtmf"' in greeting and "visit code" in greeting
    assert "Press 1 for arrived" in menu and f"action?visit={visit.id}" in menu
    assert "Arrival at visit" in arrived.get_data(as_text=True)
    assert "1 occlusion" in alarm_menu
    assert "air in line" in alarm
    with database.new_session() as session:
        check_ins = session.scalars(select(CheckIn).order_by(CheckIn.id)).all()
        report = session.scalars(select(PumpReport)).one()
    assert [(c.kind, c.channel) for c in check_ins] == [("arrived", "voice"),
                                                        ("pump_status", "voice")]
    assert (report.alarm_type, report.source) == ("air_in_line", "voice")


def test_silence_at_a_voice_menu_asks_the_same_question_again(client, crew):
    nurse, _course, visit = crew
    menu = voice(client, "/twilio/voice/visit", nurse.phone, str(visit.id)).get_data(
        as_text=True)
    silent = re.search(r"<Redirect[^>]*>([^<]+)</Redirect>", menu).group(1).replace("&amp;", "&")

    again = voice(client, silent, nurse.phone).get_data(as_text=True)

    assert f"Visit {visit.id}. Press 1 for arrived" in again
    assert "Not recorded" not in again


def test_a_repeated_voice_step_records_once(client, database, crew):
    nurse, _course, visit = crew

    voice(client, f"/twilio/voice/action?visit={visit.id}", nurse.phone, "1", call_sid="CA9")
    voice(client, f"/twilio/voice/action?visit={visit.id}", nurse.phone, "1", call_sid="CA9")

    assert count_rows(database, CheckIn) == 1


def test_a_repeated_voice_bag_change_says_the_hours_to_the_next_bag(client, clock, crew):
    nurse, _course, visit = crew
    step = f"/twilio/voice/action?visit={visit.id}"
    voice(client, step, nurse.phone, "1", call_sid="CA7")
    confirm = f"/twilio/voice/no-flush?visit={visit.id}"
    first = voice(client, confirm, nurse.phone, "1", call_sid="CA8").get_data(as_text=True)
    clock.advance(hours=1)

    again = voice(client, confirm, nurse.phone, "1", call_sid="CA8").get_data(as_text=True)

    assert "due in 24 hours" in first
    assert "due in 23 hours" in again and "- hours" not in again


def test_a_wrong_key_asks_again(client, crew):
    nurse, _course, visit = crew

    again = voice(client, f"/twilio/voice/action?visit={visit.id}", nurse.phone, "9")

    assert "not a choice" in again.get_data(as_text=True)
    assert "<Gather" in again.get_data(as_text=True)


def test_an_unknown_caller_is_refused_politely_with_an_audit_event(client, database, crew):
    response = voice(client, "/twilio/voice", "+19995550100")

    assert "not registered" in response.get_data(as_text=True)
    assert "<Hangup" in response.get_data(as_text=True)
    assert count_rows(database, CheckIn) == 0
    assert count_rows(database, AuditEvent, AuditEvent.action == "voice_refused") == 1
