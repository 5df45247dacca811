"""The reference rows.

``/bare``: a bare Flask endpoint doing one INSERT with SQLAlchemy core from a form POST
(like a Twilio webhook), no auth, no validation, no audit: the reference the issues'
targets are set against.

``/bare/patient``: the same database work as ``POST /api/v1/patients`` (a patient, its
home and contact, and their three audit events, in one transaction) done with SQLAlchemy
core from the JSON body: no auth, validation, ORM or schema. It tells what the stack
(Flask-smorest, marshmallow, the ORM's unit of work, the audit listener) costs on top of
the database work itself.

``/bare/check-in``: likewise for an SMS check-in (``PUMP V<n> RUNNING`` from a nurse's
phone, as ``bench_phone`` sends): the statements our webhook runs (store the message,
find nurse, visit, course and bag, record the pump report and the EVV check-in, their
audit events), in SQL core, with no signature check, grammar or ORM.
"""

import os
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import create_engine, insert, text

from opsbackend.models import (
    AuditEvent,
    CheckIn,
    Contact,
    Home,
    InboundMessage,
    Patient,
    PumpReport,
)

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)


@app.post("/bare")
def bare():
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO bare_event (body) VALUES (:body)"),
                           {"body": request.form.get("Body", "")})
    return "", 204


@app.post("/bare/patient")
def bare_patient():
    body = request.get_json()
    home, contacts = body.pop("home"), body.pop("contacts")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        patient_id = _add(connection, Patient, body, now)
        owned = {"patient_id": patient_id}
        events = [("patient", patient_id, body),
                  ("home", _add(connection, Home, home | owned, now), home)]
        events += [("contact", _add(connection, Contact, contact | owned, now), contact)
                   for contact in contacts]
        _audit(connection, now, events)
    return {"id": patient_id}, 201


@app.post("/bare/check-in")
def bare_check_in():
    form, now = request.form, datetime.now(UTC)
    visit_id = int(form["Body"].split()[1][1:])
    with engine.begin() as connection:
        def one(sql, **params):
            return connection.execute(text(sql), params).first()

        message = {"provider_sid": form["MessageSid"], "from_phone": form["From"],
                   "to_phone": form["To"], "body": form["Body"], "received_at": now}
        message_id = _add(connection, InboundMessage, message, now)
        nurse = one("SELECT * FROM nurse WHERE phone = :phone AND active", phone=form["From"])
        visit = one("SELECT * FROM visit WHERE id = :id", id=visit_id)
        place = one("SELECT patient.site_id, (SELECT unit.site_id FROM unit WHERE unit.id = "
                    ":unit), patient.study_code, site.timezone FROM patient JOIN site "
                    "ON site.id = patient.site_id WHERE patient.id = :id",
                    id=visit.patient_id, unit=nurse.unit_id)
        one("SELECT * FROM course WHERE id = :id FOR UPDATE", id=visit.course_id)
        bag = one("SELECT * FROM bag WHERE course_id = :id AND changed_at IS NULL "
                  "ORDER BY sequence DESC", id=visit.course_id)
        one("SELECT max(reported_at) FROM pump_report WHERE course_id = :id", id=visit.course_id)
        report = {"course_id": visit.course_id, "bag_id": bag.id, "status": "running",
                  "reported_at": now, "reported_by_nurse_id": nurse.id, "source": "sms"}
        report_id = _add(connection, PumpReport, report, now)
        one("SELECT * FROM course_interruption WHERE course_id = :id AND ended_at IS NULL",
            id=visit.course_id)
        one("SELECT * FROM alert WHERE status IN ('open', 'acknowledged') AND course_id = :id "
            "AND kind = 'pump_alarm_unresolved'", id=visit.course_id)
        one("SELECT home.id, home.landline_phone, home.lat, home.lon, unit.last_lat, "
            "unit.last_lon, unit.last_located_at FROM patient "
            "LEFT OUTER JOIN home ON home.patient_id = patient.id "
            "LEFT OUTER JOIN unit ON unit.id = :unit WHERE patient.id = :id",
            id=visit.patient_id, unit=nurse.unit_id)
        reply = f"Recorded: pump running for {place.study_code} ({place.timezone})."
        connection.execute(text("UPDATE inbound_message SET updated_at = :now, nurse_id = :nurse, "
                                "handled_as = 'check_in:pump', reply_body = :reply WHERE id = :id"),
                           {"now": now, "nurse": nurse.id, "reply": reply, "id": message_id})
        check_in = {"visit_id": visit.id, "patient_id": visit.patient_id, "nurse_id": nurse.id,
                    "unit_id": visit.unit_id, "kind": "pump_status", "service_type": visit.kind,
                    "occurred_at": now, "channel": "sms", "caller_phone": form["From"],
                    "identity_method": "registered_phone", "caller_matched_nurse": True,
                    "inbound_message_id": message_id}
        check_in_id = _add(connection, CheckIn, check_in, now)
        # The transaction's audit events in one INSERT at the end, as ours writes them.
        _audit(connection, now, [("inbound_message", message_id, message),
                                 ("pump_report", report_id, report),
                                 ("check_in", check_in_id, check_in),
                                 ("inbound_message", message_id, {"reply_body": reply})])
    return f"<Response><Message>{reply}</Message></Response>", 200, {"Content-Type": "text/xml"}


def _add(connection, model, row: dict, now: datetime) -> int:
    table = model.__table__
    return connection.execute(insert(table).returning(table.c.id),
                              row | {"created_at": now, "updated_at": now}).scalar_one()


def _audit(connection, now, events):
    connection.execute(insert(AuditEvent.__table__), [
        {"occurred_at": now, "actor": "bare", "action": "create", "table_name": table,
         "record_id": str(record_id), "changes": {"before": None, "after": _plain(after)}}
        for table, record_id, after in events
    ])


def _plain(row: dict) -> dict:
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in row.items()}


@app.get("/readyz")
def ready():
    return "ok"
