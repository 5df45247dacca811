"""STOP from any phone is recorded; a staff phone that stopped raises an alert to its
site's dispatch, and START lifts it (issue 12 §4)."""

import pytest
from sqlalchemy import insert, select

from opsbackend.domain.messaging import outbox
from opsbackend.models import Alert, OutboundMessage, SmsOptOut
from tests.phone import reply_text, signed_post, sms

DISPATCH = "+13105550101"  # the factory sites' dispatch desk


@pytest.fixture
def crew(factory):
    return factory.crew(phone="+12135550171")


def opt_out(database, phone):
    with database.new_session() as session:
        return session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone))


def staff_alerts(database):
    with database.new_session() as session:
        return session.scalars(select(Alert).where(Alert.kind == "staff_opted_out")
                               .order_by(Alert.id)).all()


def test_a_nurse_who_texts_stop_is_told_and_dispatch_is_alerted(client, database, crew):
    reply = reply_text(sms(client, crew.nurse.phone, "STOP"))

    assert "safety alerts included" in reply and "dispatch" in reply
    assert opt_out(database, crew.nurse.phone) is True
    [alert] = staff_alerts(database)
    assert alert.site_id == crew.site.id and alert.status == "open"
    with database.new_session() as session:
        to_dispatch = session.scalars(select(OutboundMessage).where(
            OutboundMessage.alert_id == alert.id, OutboundMessage.to_phone == DISPATCH)).one()
    assert crew.nurse.phone in to_dispatch.body and "STOP" in to_dispatch.body


def test_start_lifts_it_and_a_second_stop_alerts_again(client, database, crew):
    sms(client, crew.nurse.phone, "STOP")
    started = reply_text(sms(client, crew.nurse.phone, "START"))
    sms(client, crew.nurse.phone, "STOP")

    assert "again" in started
    first, again = staff_alerts(database)
    assert first.status == "resolved" and again.status == "open"
    assert again.dedupe_key == f"{first.dedupe_key}#2"


def test_stop_from_an_unknown_number_is_recorded(client, database):
    sms(client, "+19995550123", "STOP")

    assert opt_out(database, "+19995550123") is True
    assert staff_alerts(database) == []


def test_twilio_refusing_a_staff_phone_raises_the_alert(client, database, clock, crew):
    with database.transaction(actor="test:factory") as session:
        message = outbox.queue_message(session, clock, to_phone=crew.nurse.phone, body="x",
                                       template="t", purpose="safety")
        message.status, message.provider_sid = "sent", "SMstop"

    signed_post(client, f"/twilio/status?outbox_id={message.id}",
                {"MessageSid": "SMstop", "MessageStatus": "undelivered", "ErrorCode": "21610"})

    [alert] = staff_alerts(database)
    assert alert.site_id == crew.site.id
    assert opt_out(database, crew.nurse.phone) is True


def test_the_dispatch_line_texting_stop_is_alerted_to_its_site(client, database, crew):
    reply = reply_text(sms(client, DISPATCH, "STOP"))

    assert "dispatch" in reply
    assert crew.site.id in {alert.site_id for alert in staff_alerts(database)}


def test_messages_to_a_staff_phone_that_stopped_are_suppressed_until_start(
        client, database, clock, crew):
    sms(client, crew.nurse.phone, "STOP")
    with database.transaction(actor="test") as session:
        while_stopped = outbox.queue_message(session, clock, to_phone=crew.nurse.phone,
                                             body="bag due", template="test", purpose="alert",
                                             dedupe_key="test:stopped")
    sms(client, crew.nurse.phone, "START")
    with database.transaction(actor="test") as session:
        after_start = outbox.queue_message(session, clock, to_phone=crew.nurse.phone,
                                           body="bag due", template="test", purpose="alert",
                                           dedupe_key="test:started")
    with database.new_session() as session:
        stopped = session.get(OutboundMessage, while_stopped.id)
        started = session.get(OutboundMessage, after_start.id)
        assert (stopped.status, stopped.suppressed_reason) == ("suppressed", "opted_out")
        assert started.status != "suppressed"


def test_a_message_queued_as_a_staff_phone_stopped_is_suppressed_when_claimed(
        client, database, clock, crew, twilio_provider, fake_twilio):
    # A transaction that began before the STOP committed queues after it: the queue-time
    # check did not see the STOP yet, STOP's sweep did not see the message yet.
    sms(client, crew.nurse.phone, "STOP")
    with database.engine.begin() as connection:
        connection.execute(insert(OutboundMessage.__table__), [{
            "to_phone": crew.nurse.phone, "body": "bag due", "template": "test",
            "purpose": "alert", "status": "queued", "attempts": 0,
            "created_at": clock.now(), "updated_at": clock.now()}])

    outbox.send_due(database, clock, twilio_provider)

    with database.new_session() as session:
        message = session.scalars(select(OutboundMessage).where(
            OutboundMessage.to_phone == crew.nurse.phone, OutboundMessage.body == "bag due")).one()
    assert (message.status, message.suppressed_reason) == ("suppressed", "opted_out")
    assert fake_twilio.bodies_to(crew.nurse.phone) == []
