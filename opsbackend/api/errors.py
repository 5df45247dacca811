"""Every error is JSON: ``{"code", "status", "message", "errors": {"json": {field: [...]}}}``."""

from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.http import HTTP_STATUS_CODES

from opsbackend.api import context
from opsbackend.domain.errors import DomainError


def register(app) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(OperationalError, _database_unavailable)


def error_body(code: int, message: str, field: str | None = None) -> dict:
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"), "message": message}
    if field:
        body["errors"] = {"json": {field: [message]}}
    return body


def _domain_error(error: DomainError):
    context.session().rollback()
    return error_body(error.status_code, error.message, error.field), error.status_code


def _integrity_error(error: IntegrityError):
    # Checks in the domain name the field first; this catches a race between two writers.
    context.session().rollback()
    # Codes only: the database's own text names the clashing values (PostgreSQL's
    # "Key (phone)=(+1...) already exists"), which may be a family's phone or a name.
    current_app.logger.warning("integrity error", extra=database_error_codes(error))
    return error_body(409, "the change conflicts with an existing record"), 409


def database_error_codes(error) -> dict:
    """What a log may say of a database error: its SQLSTATE (or SQLite error name) and
    the constraint's name, never the values."""
    orig = getattr(error, "orig", error)
    diag = getattr(orig, "diag", None)
    return {"error": type(orig).__name__,
            "sqlstate": getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None),
            "constraint": getattr(diag, "constraint_name", None)}


def _database_unavailable(error: OperationalError):
    """The database went away mid-request (a restart, a failover, a killed connection):
    the transaction is gone with it, nothing half-written; the caller may retry (Twilio
    retries a webhook that failed). The pool replaces the connection on the next request."""
    try:
        context.session().rollback()
    except Exception:  # the connection is already gone
        current_app.logger.debug("rollback after a lost connection failed")
    current_app.logger.warning("database unavailable: %s", type(error.orig).__name__)
    return (error_body(503, "the database is unavailable; try again in a few seconds"), 503,
            {"Retry-After": "5"})
