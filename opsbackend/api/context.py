"""The request's session and clock, for views."""

from flask import current_app
from sqlmodel import Session

from opsbackend.clock import Clock


def session() -> Session:
    return current_app.extensions["database"].scoped()


def clock() -> Clock:
    return current_app.extensions["database"].clock


def commit() -> None:
    """The one commit of a request: the change and its audit events together."""
    session().commit()
