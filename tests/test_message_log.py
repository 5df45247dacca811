"""Every SMS in and out with its delivery status and error; failed deliveries to a family or
a nurse raise an alert once the outbox has stopped trying."""

from datetime import timedelta

from sqlalchemy import select

from opsbackend.domain.messaging import delivery_failures, outbox
from opsbackend.models import Alert, Contact, OutboundMessage
from tests.phone import sms

DISPATCH = "+13105550101"


def queue_to_family(database, clock, patient, body="Reminder: visit tomorrow"):
    with database.transaction() as session:
        contact = session.get(Contact, patient.contacts[0].id)
        return outbox.queue_message(session, clock, to_phone=contact.phone, body=body,
                                    template="reminder.day_before", purpose="reminder",
                                    contact=contact).id


def scan(database, clock):
    with database.transaction() as session:
        return delivery_failures.scan(session, clock)


def failed_alerts(database):
    with database.new_session() as session:
        return session.scalars(select(Alert).where(Alert.kind == "delivery_failed")).all()


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
    queue_to_family(database, clock, patient)
    fake_twilio.fail_next("21211")
    outbox.send_due(database, clock, twilio_provider)

    failed = client.get(f"/api/v1/messages?status=failed&contact_id={patient.contacts[0].id}",
                        headers=auth("dispatcher")).json["items"]
    scan(database, clock)
    scan(database, clock)

    [message] = failed
    assert (message["error_code"], message["attempts"]) == ("21211", 1)
    [alert] = failed_alerts(database)
    assert alert.patient_id == patient.id and alert.severity == "medium"
    assert "21211" in alert.summary and "family (mother)" in alert.summary
    with database.new_session() as session:
        [to_desk] = session.scalars(select(OutboundMessage).where(
            OutboundMessage.alert_id == alert.id)).all()
    assert to_desk.to_phone == DISPATCH and "SMS FAILED" in to_desk.body


def test_a_message_still_being_retried_raises_nothing(factory, database, clock,
                                                      twilio_provider, fake_twilio):
    patient = factory.patient()
    queue_to_family(database, clock, patient)
    fake_twilio.fail_next("500")
    outbox.send_due(database, clock, twilio_provider)

    scan(database, clock)

    assert failed_alerts(database) == []


def test_a_later_delivered_message_closes_the_alert(client, factory, database, clock,
                                                    twilio_provider, fake_twilio):
    patient = factory.patient()
    queue_to_family(database, clock, patient)
    fake_twilio.fail_next("21211")
    outbox.send_due(database, clock, twilio_provider)
    scan(database, clock)
    later = queue_to_family(database, clock, patient, body="second try")
    outbox.send_due(database, clock, twilio_provider)
    with database.transaction() as session:
        message = session.get(OutboundMessage, later)
        outbox.record_status_callback(session, clock, outbox_id=later,
                                      sid=message.provider_sid, status="delivered")
    clock.advance(minutes=1)

    scan(database, clock)

    [alert] = failed_alerts(database)
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
