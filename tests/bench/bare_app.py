"""The reference row: a bare Flask endpoint doing one INSERT with SQLAlchemy core
from a form POST (like a Twilio webhook), no auth, no validation, no audit."""

import os

from flask import Flask, request
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)


@app.post("/bare")
def bare():
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO bare_event (body) VALUES (:body)"),
                           {"body": request.form.get("Body", "")})
    return "", 204


@app.get("/readyz")
def ready():
    return "ok"
