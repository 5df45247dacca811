"""The request's session and clock, for views."""

from flask import current_app
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.rules import TimelineRules


def session() -> Session:
    return current_app.extensions["database"].scoped()


def clock() -> Clock:
    return current_app.extensions["database"].clock


def rules() -> TimelineRules:
    return current_app.extensions["timeline_rules"]


def commit() -> None:
    """The one commit of a request: the change and its audit events together."""
    session().commit()
