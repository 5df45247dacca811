"""Every error is JSON: ``{"code", "status", "message", "errors": {"json": {field: [...]}}}``."""

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.http import HTTP_STATUS_CODES

from opsbackend.api import context
from opsbackend.domain.errors import DomainError


def register(app) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(IntegrityError, _integrity_error)


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
    current_app.logger.warning("integrity error: %s", error.orig)
    return error_body(409, "the change conflicts with an existing record"), 409
