"""A family's CALL / LLAMAR becomes a call-back task for dispatch, closed with an outcome;
one left open too long raises an alert up the ladder."""

from sqlalchemy import select

from opsbackend.domain.messaging import callbacks
from opsbackend.models import Alert, OutboundMessage
from tests.phone import reply_text, sms

DISPATCH = "+13105550101"  # the factory site's dispatch desk


def open_callbacks(client, auth, **query):
    return client.get("/api/v1/callbacks", query_string={"status": "open"} | query,
                      headers=auth("dispatcher")).json


def scan(database, clock):
    with database.transaction() as session:
        return callbacks.scan_overdue(session, clock)


def test_a_family_call_opens_one_callback_for_dispatch(client, auth, factory):
    patient = factory.patient(contacts=[dict(name="Lucia", relationship="mother",
                                             phone="+12135550144", language="es")])

    first = sms(client, "+12135550144", "LLAMAR")
    sms(client, "+12135550144", "llamar por favor")
    listed = open_callbacks(client, auth)

    assert "le llamará" in reply_text(first)
    [request] = listed["items"]
    assert (request["study_code"], request["city"], request["postal_code"]) == (
        patient.study_code, "Pasadena", "91101")
    assert (request["contact_name"], request["phone"], request["language"]) == (
        "Lucia", "+12135550144", "es")
    assert request["status"] == "open" and request["inbound_message_id"] is not None


def test_only_dispatchers_see_callbacks(client, auth):
    for role, status in (("viewer", 403), ("nurse", 403), ("dispatcher", 200)):
        assert client.get("/api/v1/callbacks", headers=auth(role)).status_code == status


def test_a_callback_is_closed_with_an_outcome_once(client, auth, factory):
    patient = factory.patient()
    sms(client, patient.contacts[0].phone, "CALL")
    [request] = open_callbacks(client, auth)["items"]
    headers = auth("dispatcher")

    done = client.post(f"/api/v1/callbacks/{request['id']}/done", headers=headers,
                       json={"outcome": "reached", "note": "wanted the time"})
    again = client.post(f"/api/v1/callbacks/{request['id']}/done", headers=headers,
                        json={"outcome": "reached"})
    bad = client.post(f"/api/v1/callbacks/{request['id']}/done", headers=headers,
                      json={"outcome": "shrugged"})

    assert done.status_code == 200
    assert (done.json["status"], done.json["outcome"]) == ("done", "reached")
    assert "test dispatcher" in done.json["done_by"]
    assert again.status_code == 409
    assert bad.status_code == 422 and "outcome" in bad.json["errors"]["json"]
    assert open_callbacks(client, auth)["total"] == 0


def test_an_open_callback_older_than_the_site_allows_raises_an_alert(client, auth, factory,
                                                                     database, clock):
    site = factory.site()
    patient = factory.patient(site_id=site.id)
    client.patch(f"/api/v1/sites/{site.id}", json={"callback_alert_minutes": 20},
                 headers=auth("admin"))
    sms(client, patient.contacts[0].phone, "CALL")

    clock.advance(minutes=19)
    early = scan(database, clock)
    clock.advance(minutes=2)
    late = scan(database, clock)
    scan(database, clock)

    assert early[1] == 0 and late[1] == 1
    with database.new_session() as session:
        [alert] = session.scalars(select(Alert).where(Alert.kind == "callback_overdue")).all()
        [message] = session.scalars(select(OutboundMessage).where(
            OutboundMessage.alert_id == alert.id)).all()
    assert alert.summary.startswith(patient.study_code)
    assert message.to_phone == DISPATCH and "CALL BACK" in message.body


def test_closing_the_callback_resolves_its_alert(client, auth, factory, database, clock):
    patient = factory.patient()
    sms(client, patient.contacts[0].phone, "CALL")
    clock.advance(minutes=31)
    scan(database, clock)
    [request] = open_callbacks(client, auth)["items"]

    client.post(f"/api/v1/callbacks/{request['id']}/done", headers=auth("dispatcher"),
                json={"outcome": "left_voicemail"})

    with database.new_session() as session:
        [alert] = session.scalars(select(Alert).where(Alert.kind == "callback_overdue")).all()
    assert alert.status == "resolved" and "left_voicemail" in alert.resolution


def test_the_default_wait_is_thirty_minutes(factory, client, database, clock):
    patient = factory.patient()
    sms(client, patient.contacts[0].phone, "CALL")

    clock.advance(minutes=29)
    assert scan(database, clock)[1] == 0
    clock.advance(minutes=1)
    assert scan(database, clock)[1] == 1
