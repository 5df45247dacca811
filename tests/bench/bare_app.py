"""The reference rows.

``/bare``: a bare Flask endpoint doing one INSERT with SQLAlchemy core from a form POST
(like a Twilio webhook), no auth, no validation, no audit: the reference the issues'
targets are set against.

``/bare/patient``: the same database work as ``POST /api/v1/patients`` (a patient, its
home and contact, and their three audit events, in one transaction) done with SQLAlchemy
core from the JSON body: no auth, validation, ORM or schema. It tells what the stack
(Flask-smorest, marshmallow, the ORM's unit of work, the audit listener) costs on top of
the database work itself.
"""

import os
from datetime import UTC, datetime

from flask import Flask, request
from sqlalchemy import create_engine, insert, text

from opsbackend.models import AuditEvent, Contact, Home, Patient

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
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as connection:
        patient_id = connection.execute(
            insert(Patient.__table__).returning(Patient.__table__.c.id), body | stamps
        ).scalar_one()
        owned = {"patient_id": patient_id} | stamps
        connection.execute(insert(Home.__table__), home | owned)
        connection.execute(insert(Contact.__table__), [contact | owned for contact in contacts])
        events = [("patient", patient_id, body), ("home", None, home)]
        events += [("contact", None, contact) for contact in contacts]
        connection.execute(insert(AuditEvent.__table__), [
            {"occurred_at": now, "actor": "bare", "action": "create", "table_name": table,
             "record_id": str(record_id or patient_id), "changes": {"before": None, "after": after}}
            for table, record_id, after in events
        ])
    return {"id": patient_id}, 201


@app.get("/readyz")
def ready():
    return "ok"
