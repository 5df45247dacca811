"""Liveness and readiness probes."""

from flask import Blueprint, current_app
from sqlalchemy import text

from opsbackend.api.auth import public

blp = Blueprint("health", __name__)


@blp.get("/healthz")
@public
def healthz():
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
@public
def readyz():
    """The database answers."""
    try:
        with current_app.extensions["database"].engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready", never a 500
        current_app.logger.warning("readiness check failed: %s", exc.__class__.__name__)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
