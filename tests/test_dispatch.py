"""Suggestions and assignment: skills, shifts, travel between visits, double booking."""

import math
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import assignment
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.scope import Scope
from opsbackend.models import Visit

MONDAY = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 07:00 in Los Angeles
EVERY_SITE = Scope.everything()
ALL_WEEK_DAYS = [{"weekday": d, "starts_at": time(7), "ends_at": time(19)} for d in range(7)]


class StraightLine:
    """Travel at 60 km/h in a straight line: 1 minute a kilometre, easy to reason about."""

    def matrix(self, origins, destinations):
        return [[_km(a, b) * 60 for b in destinations] for a in origins]


def _km(a, b):
    dlat = (a[0] - b[0]) * 111.0
    dlon = (a[1] - b[1]) * 111.0 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


@pytest.fixture
def world(factory, clock):
    """A site with a home at the base's doorstep and one 30 km away, and a day unit."""
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                        skills=["pediatric"], shifts=ALL_WEEK_DAYS)
    return site, unit


def visit_at(factory, database, site, lat, lon, start, minutes=45, skills=("pediatric",)):
    """A bag-change visit with a one-hour window starting at ``start``."""
    patient = factory.patient(site_id=site.id, home={
        "address_line1": "1 A St", "city": "LA", "postal_code": "90001", "lat": lat, "lon": lon})
    course = factory.active_course(patient_id=patient.id, bag_interval_hours=24,
                                   started_at=start + timedelta(hours=2) - timedelta(hours=24))
    with database.transaction() as session:
        visit = session.scalars(select(Visit).where(Visit.course_id == course.id,
                                                    Visit.kind == "bag_change")).first()
        visit.window_start, visit.window_end = start, start + timedelta(hours=1)
        visit.service_minutes, visit.required_skills = minutes, list(skills)
        return visit


def suggest(database, clock, visit):
    with database.new_session() as session:
        return assignment.suggestions(session, clock, EVERY_SITE, visit.id, StraightLine())


def assign(database, clock, visit, unit):
    with database.transaction() as session:
        return assignment.assign(session, clock, EVERY_SITE, visit.id, unit.id, StraightLine())


def test_a_suitable_unit_is_ranked_with_its_arrival(world, factory, database, clock):
    site, unit = world
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))

    [judged] = suggest(database, clock, visit)

    assert judged.unit.id == unit.id
    assert judged.placement.start == visit.window_start


def test_units_are_ranked_by_arrival(world, factory, database, clock):
    site, near = world
    far = factory.unit(site_id=site.id, base_lat=34.4, base_lon=-118.0, skills=["pediatric"],
                       shifts=ALL_WEEK_DAYS)
    # The window opens at 07:00 when the shifts start: the far unit drives ~44 minutes.
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY, minutes=30)

    ranked = suggest(database, clock, visit)

    assert [j.unit.id for j in ranked] == [near.id, far.id]
    assert ranked[0].placement.start == MONDAY
    assert timedelta(minutes=43) < ranked[1].placement.start - MONDAY < timedelta(minutes=46)


def test_each_excluded_unit_says_why(world, factory, database, clock):
    site, unit = world
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                 shifts=ALL_WEEK_DAYS, status="out_of_service")
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=[],
                 shifts=ALL_WEEK_DAYS)
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                 shifts=[{"weekday": 2, "starts_at": time(7), "ends_at": time(19)}])
    factory.unit(site_id=site.id, base_lat=37.0, base_lon=-118.0, skills=["pediatric"],
                 shifts=ALL_WEEK_DAYS)
    busy_visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                          minutes=70)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                     minutes=70)
    assign(database, clock, busy_visit, unit)

    reasons = {j.unit.id: (j.refusal.reason if j.refusal else "ok")
               for j in suggest(database, clock, visit)}

    assert sorted(reasons.values()) == sorted(["conflict", "status", "skill", "shift",
                                               "too_far"])


def test_assignment_refuses_a_unit_without_the_skill(world, factory, database, clock):
    site, unit = world
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                     skills=("pediatric", "infant"))

    with pytest.raises(Conflict, match="skill .lacks infant"):
        assign(database, clock, visit, unit)


def test_assignment_refuses_outside_the_shift(world, factory, database, clock):
    site, unit = world
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=13))

    with pytest.raises(Conflict, match="shift"):
        assign(database, clock, visit, unit)


def test_assignment_counts_travel_between_visits(world, factory, database, clock):
    site, unit = world
    first = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                     minutes=45)
    # 30 km away: 30 min drive after a 45 min visit that starts at 10:00 -> 11:15 at best.
    reachable = visit_at(factory, database, site, 34.27, -118.0,
                         MONDAY + timedelta(hours=4, minutes=15))
    unreachable = visit_at(factory, database, site, 34.27, -118.0,
                           MONDAY + timedelta(hours=3), minutes=45)
    assign(database, clock, first, unit)

    assigned = assign(database, clock, reachable, unit)
    with pytest.raises(Conflict, match="conflict"):
        assign(database, clock, unreachable, unit)

    assert assigned.eta >= MONDAY + timedelta(hours=4, minutes=15)


def test_a_home_without_coordinates_is_a_clear_error(world, factory, database, clock):
    site, unit = world
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    with database.transaction() as session:
        from opsbackend.models import Home

        home = session.scalars(select(Home).where(Home.patient_id == visit.patient_id)).one()
        home.lat = home.lon = None

    with pytest.raises(Invalid, match="no coordinates"):
        assign(database, clock, visit, unit)


def test_unassign_puts_the_visit_back_and_keeps_the_trail(world, factory, database, clock):
    site, unit = world
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    assign(database, clock, visit, unit)

    with database.transaction() as session:
        back = assignment.unassign(session, clock, EVERY_SITE, visit.id, StraightLine())

    assert (back.status, back.unit_id) == ("unassigned", None)


@pytest.mark.postgres_only
def test_two_dispatchers_at_once_cannot_double_book_a_unit(world, factory, database, clock):
    site, unit = world
    # Five rounds; in each, two visits in the same hour at the same place, 70 minutes each:
    # the unit can do one of them, not both, and two dispatchers try both at once.
    rounds = [
        [visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=h),
                  minutes=70) for _ in range(2)]
        for h in (1, 3, 5, 7, 9)
    ]
    outcomes = []

    def dispatcher(visit, barrier):
        barrier.wait()
        try:
            assign(database, clock, visit, unit)
            outcomes.append((visit.id, "assigned"))
        except Conflict:
            outcomes.append((visit.id, "refused"))

    for pair in rounds:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=dispatcher, args=(v, barrier)) for v in pair]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(o for _, o in outcomes) == ["assigned"] * 5 + ["refused"] * 5
    with database.new_session() as session:
        booked = session.scalars(select(Visit).where(Visit.unit_id == unit.id)).all()
    assert len(booked) == 5
