"""The request's session and clock, for views."""

from flask import current_app, g
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.registry import geocoding
from opsbackend.domain.rules import TimelineRules
from opsbackend.domain.scope import Scope


def session() -> Session:
    return current_app.extensions["database"].scoped()


def scope() -> Scope:
    """The sites and role the caller acts for (every site for a request without a token)."""
    caller = g.get("token")
    if caller is None:
        return Scope.everything()
    return Scope(role=caller.role, site_ids=caller.site_ids, nurse_id=caller.nurse_id)


def clock() -> Clock:
    return current_app.extensions["database"].clock


def rules() -> TimelineRules:
    return current_app.extensions["timeline_rules"]


def locate_home():
    """Geocode a home with the configured geocoder, through the address cache."""
    geocoder = current_app.extensions["geocoder"]

    def locate(home):
        geocoding.geocode_home(session(), clock(), home, geocoder)

    return locate


def travel():
    """The travel-time estimator (geodesic by default, OSRM when configured)."""
    return current_app.extensions["travel"]


def commit() -> None:
    """The one commit of a request: the change and its audit events together."""
    session().commit()
