"""Candidate bases: where the sites' units are based now, points the planner gives, and
the centroids of postal codes around the demand."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Invalid
from opsbackend.domain.planning import postal_codes
from opsbackend.domain.planning.places import Candidate, DemandPoint
from opsbackend.models import Unit

# Units that are part of the fleet; out of service ones are not counted as bases.
FLEET_STATUSES = ("available", "en_route", "on_site", "off_duty")
# A straight line no road trip beats: postal codes farther than this from every point
# cannot reach one within T minutes whatever the estimator, and are not asked about.
MAX_STRAIGHT_LINE_KMH = 120


def current_bases(session: Session, site_ids: list[int],
                  default_hours_per_week: float) -> list[Candidate]:
    """One candidate per base location, with the units there and their weekly shifts.

    A unit without a weekly pattern is counted with the default crew week (the same a
    new unit gets), rather than as a unit that never works.
    """
    units = session.scalars(
        select(Unit).where(Unit.site_id.in_(site_ids), Unit.status.in_(FLEET_STATUSES))
        .order_by(Unit.call_sign)
    ).all()
    at = defaultdict(list)
    for unit in units:
        at[(round(unit.base_lat, 5), round(unit.base_lon, 5))].append(unit)
    return [
        Candidate(label=" + ".join(u.call_sign for u in group), lat=group[0].base_lat,
                  lon=group[0].base_lon, kind="current",
                  units=tuple(u.call_sign for u in group),
                  crew_minutes_per_week=sum(_weekly_minutes(u) or default_hours_per_week * 60
                                            for u in group))
        for group in at.values()
    ]


def _weekly_minutes(unit: Unit) -> float:
    """The minutes of the unit's weekly pattern (a shift ending at or before it starts
    runs past midnight)."""
    total = 0.0
    for shift in unit.shifts:
        opens = datetime.combine(date.min, shift.starts_at)
        closes = datetime.combine(date.min, shift.ends_at)
        if closes <= opens:
            closes += timedelta(days=1)
        total += (closes - opens).total_seconds() / 60
    return total


def around(demand: list[DemandPoint], states, minutes: int) -> list[Candidate]:
    """The centroids of the postal codes in ``states`` that may reach some point."""
    km = minutes / 60 * MAX_STRAIGHT_LINE_KMH
    codes = postal_codes.near(postal_codes.in_states(states),
                              [(d.lat, d.lon) for d in demand], km)
    return [Candidate(label=f"{p.code} {p.city} {p.state}", lat=p.lat, lon=p.lon,
                      kind="postal_code") for p in codes]


def given(points: list[dict], field: str) -> list[Candidate]:
    """Points the planner names: ``{"label", "lat", "lon"}`` or ``{"label", "postal_code"}``."""
    found = []
    for n, point in enumerate(points):
        if point.get("postal_code"):
            code = postal_codes.find(point["postal_code"])
            if code is None:
                raise Invalid(f"candidate {n}: {point['postal_code']!r} is not a known US "
                              "postal code", field=field)
            lat, lon = code.lat, code.lon
            label = point.get("label") or f"{code.code} {code.city} {code.state}"
        else:
            lat, lon = point["lat"], point["lon"]
            label = point.get("label") or f"{lat:.4f},{lon:.4f}"
        found.append(Candidate(label=label, lat=lat, lon=lon, kind="given"))
    return found


def states_of(demand: list[DemandPoint]) -> set[str]:
    """The states the demand's postal codes lie in."""
    return {code.state for d in demand if d.postal_code
            and (code := postal_codes.find(d.postal_code)) is not None}
