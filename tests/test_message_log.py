"""Every SMS in and out with its delivery status and error; failed deliveries to a family or
a nurse raise an alert once the outbox has stopped trying."""

from datetime import timedelta

from sqlalchemy import select

from opsbackend.domain.messaging import delivery_failures, outbox
from opsbackend.models import Contact, OutboundMessage
from tests.phone import sms
from tests.test_alerts_and_jobs import alerts

DISPATCH = "+13105550101"


def queue_to_family(database, clock, patient, body="Reminder: visit tomorrow"):
    with database.transaction() as session:
        contact = session.get(Contact, patient.contacts[0].id)
        return outbox.queue_message(session, clock, to_phone=contact.phone, body=body,
                                    template="reminder.day_before", purpose="reminder",
                                    contact=contact).id


def send_failing(database, clock, provider, fake_twilio, failure, patient):
    """A message to the family, sent once while the fake Twilio answers ``failure``."""
    queue_to_family(database, clock, patient)
    fake_twilio.fail_next(failure)
    outbox.send_due(database, clock, provider)


def scan(database, clock):
    with database.transaction() as session:
        return delivery_failures.scan(session, clock)


def test_messages_in_and_out_are_listed_newest_first_with_status(client, auth, factory,
                                                                   database, clock):
    patient = factory.patient()
    queue_to_family(database, clock, patient)
    clock.advance(minutes=1)
    sms(client, patient.contacts[0].phone, "YES")

    listed = client.get(f"/api/v1/messages?patient_id={patient.id}",
                        headers=auth("dispatcher")).json

    inbound, outbound = listed["items"]
    assert (inbound["direction"], inbound["status"], inbound["body"]) == ("inbound",
                                                                          "received", "YES")
    assert inbound["handled_as"] == "confirm:none" and inbound["reply_body"].startswith("Thank")
    assert (outbound["direction"], outbound["status"]) == ("outbound", "queued")
    assert outbound["study_code"] == patient.study_code and outbound["city"] == "Pasadena"
    assert outbound["body"] == "Reminder: visit tomorrow"


def test_nurses_see_the_traffic_without_bodies_and_viewers_see_nothing(client, auth, factory,
                                                                         database, clock):
    patient = factory.patient()
    queue_to_family(database, clock, patient)

    for_nurse = client.get("/api/v1/messages", headers=auth("nurse")).json["items"]
    viewer = client.get("/api/v1/messages", headers=auth("viewer"))

    assert [(m["status"], m["body"]) for m in for_nurse] == [("queued", None)]
    assert viewer.status_code == 403


def test_a_permanent_failure_to_a_family_raises_one_alert(client, auth, factory, database,
                                                           clock, twilio_provider, fake_twilio):
    patient = factory.patient()
    send_failing(database, clock, twilio_provider, fake_twilio, "21211", patient)

    failed = client.get(f"/api/v1/messages?status=failed&contact_id={patient.contacts[0].id}",
                        headers=auth("dispatcher")).json["items"]
    scan(database, clock)
    scan(database, clock)

    [message] = failed
    assert (message["error_code"], message["attempts"]) == ("21211", 1)
    [alert] = alerts(database, "delivery_failed")
    assert alert.patient_id == patient.id and alert.severity == "medium"
    assert "21211" in alert.summary and "family (mother)" in alert.summary
    with database.new_session() as session:
        [to_desk] = session.scalars(select(OutboundMessage).where(
            OutboundMessage.alert_id == alert.id)).all()
    assert to_desk.to_phone == DISPATCH and "SMS FAILED" in to_desk.body


def test_a_message_still_being_retried_raises_nothing(factory, database, clock,
                                                      twilio_provider, fake_twilio):
    patient = factory.patient()
    send_failing(database, clock, twilio_provider, fake_twilio, "500", patient)

    scan(database, clock)

    assert alerts(database, "delivery_failed") == []


def test_a_later_delivered_message_closes_the_alert(client, factory, database, clock,
                                                    twilio_provider, fake_twilio):
    patient = factory.patient()
    send_failing(database, clock, twilio_provider, fake_twilio, "21211", patient)
    scan(database, clock)
    later = queue_to_family(database, clock, patient, body="second try")
    outbox.send_due(database, clock, twilio_provider)
    with database.transaction() as session:
        message = session.get(OutboundMessage, later)
        outbox.record_status_callback(session, clock, outbox_id=later,
                                      sid=message.provider_sid, status="delivered")
    clock.advance(minutes=1)

    scan(database, clock)

    [alert] = alerts(database, "delivery_failed")
    assert alert.status == "resolved"


def test_messages_filter_by_since_and_nurse(client, auth, factory, database, clock):
    nurse = factory.nurse()
    patient = factory.patient()
    queue_to_family(database, clock, patient)
    clock.advance(hours=1)
    with database.transaction() as session:
        outbox.queue_message(session, clock, to_phone=nurse.phone, body="x", template="t",
                             nurse_id=nurse.id)
    since = (clock.now() - timedelta(minutes=5)).isoformat()

    recent = client.get("/api/v1/messages", query_string={"since": since},
                        headers=auth("dispatcher")).json
    by_nurse = client.get(f"/api/v1/messages?nurse_id={nurse.id}",
                          headers=auth("dispatcher")).json

    assert [m["phone"] for m in recent["items"]] == [nurse.phone]
    assert by_nurse["total"] == 1
