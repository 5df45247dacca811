"""Times that are true: no arrival before now or before a shift opens, every stop waits for
its own shift, refusals name what binds, and a unit's ETAs never overlap."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import assignment
from opsbackend.domain.errors import Conflict
from opsbackend.models import Visit
from tests.test_dispatch import (
    ALL_WEEK_DAYS,
    EVERY_SITE,
    MONDAY,
    StraightLine,
    assign,
    suggest,
    visit_at,
)

NIGHTS = [{"weekday": d, "starts_at": time(19), "ends_at": time(7)} for d in range(7)]
LA_0900 = MONDAY + timedelta(hours=2)  # MONDAY is 07:00 in Los Angeles


@pytest.fixture
def day_unit(factory):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    return site, unit


def etas_of(database, unit):
    with database.new_session() as session:
        return [(v.id, v.eta, v.service_minutes) for v in session.scalars(
            select(Visit).where(Visit.unit_id == unit.id, Visit.status == "assigned")
            .order_by(Visit.eta))]


def test_a_suggestion_for_today_never_arrives_before_now(day_unit, factory, database, clock):
    site, unit = day_unit
    # The window is 08:00-10:00; it is 09:00 now and the home is 10 km from the base.
    visit = visit_at(factory, database, site, 34.09, -118.0, MONDAY + timedelta(hours=1))
    with database.transaction() as session:
        session.get(Visit, visit.id).window_end = MONDAY + timedelta(hours=3)
    clock.set(LA_0900)

    [judged] = suggest(database, clock, visit)

    assert judged.placement.start >= LA_0900 + timedelta(minutes=9)
    assert judged.placement.start < LA_0900 + timedelta(minutes=11)


def test_a_visit_whose_window_closes_before_the_unit_can_get_there_is_too_late(
        day_unit, factory, database, clock):
    site, unit = day_unit
    visit = visit_at(factory, database, site, 34.27, -118.0, MONDAY + timedelta(hours=1))
    clock.set(MONDAY + timedelta(hours=1, minutes=45))  # 15 minutes left, 30 minutes away

    [judged] = suggest(database, clock, visit)

    assert judged.refusal.reason == "too_late"
    assert f"V{visit.id}" in judged.refusal.detail


def test_a_next_morning_visit_waits_for_the_shift_after_an_evening_visit(
        day_unit, factory, database, clock):
    site, unit = day_unit
    evening = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=10))
    assign(database, clock, evening, unit)
    # Tomorrow 06:00-09:00 in Los Angeles; the shift opens at 07:00, the home is 10 km out.
    morning = visit_at(factory, database, site, 34.09, -118.0, MONDAY + timedelta(hours=1))
    with database.transaction() as session:
        moved = session.get(Visit, morning.id)
        moved.window_start = MONDAY + timedelta(hours=23)
        moved.window_end = MONDAY + timedelta(hours=26)

    assigned = assign(database, clock, morning, unit)

    opening = MONDAY + timedelta(days=1)
    assert opening + timedelta(minutes=9) < assigned.eta < opening + timedelta(minutes=11)


def test_a_night_unit_drives_on_between_stops_after_midnight(factory, database, clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=NIGHTS)
    late_evening = visit_at(factory, database, site, 34.0, -118.0,
                            MONDAY + timedelta(hours=16))  # 23:00
    after_midnight = visit_at(factory, database, site, 34.27, -118.0,
                              MONDAY + timedelta(hours=17))  # 00:00-01:00
    assign(database, clock, late_evening, unit)

    assigned = assign(database, clock, after_midnight, unit)

    # 23:00 + 45 min on site + 30 min from that home (00:15), not from the base at 19:00.
    assert (MONDAY + timedelta(hours=17, minutes=14) < assigned.eta
            < MONDAY + timedelta(hours=17, minutes=16))


def test_a_late_visit_already_on_the_unit_does_not_refuse_an_unrelated_one(
        day_unit, factory, database, clock):
    site, unit = day_unit
    late = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=1))
    assign(database, clock, late, unit)
    clock.set(MONDAY + timedelta(hours=2, minutes=30))  # its window closed 30 minutes ago
    afternoon = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=7))

    assigned = assign(database, clock, afternoon, unit)

    assert assigned.eta == afternoon.window_start


def test_a_refusal_names_the_visit_that_binds(day_unit, factory, database, clock):
    site, unit = day_unit
    unrelated = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=1))
    busy = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                    minutes=70)
    assign(database, clock, unrelated, unit)
    assign(database, clock, busy, unit)
    candidate = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                         minutes=70)

    [judged] = suggest(database, clock, candidate)

    assert judged.refusal.reason == "conflict"
    assert judged.refusal.visit_id in (busy.id, candidate.id)
    assert f"V{busy.id}" in judged.refusal.detail
    assert f"V{unrelated.id}" not in judged.refusal.detail


def test_two_assignments_to_one_unit_get_consecutive_etas(day_unit, factory, database, clock):
    site, unit = day_unit
    first = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    second = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    with database.transaction() as session:
        for visit in (first, second):
            session.get(Visit, visit.id).window_end = MONDAY + timedelta(hours=5)

    assign(database, clock, first, unit)
    assign(database, clock, second, unit)

    # The first keeps its time (its crew's day is not reshuffled); the second follows it.
    assert etas_of(database, unit) == [
        (first.id, MONDAY + timedelta(hours=3), 45),
        (second.id, MONDAY + timedelta(hours=3, minutes=45), 45)]


def test_unassigning_lets_the_later_visits_close_up(day_unit, factory, database, clock):
    site, unit = day_unit
    visits = [visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
              for _ in range(3)]
    with database.transaction() as session:
        for visit in visits:
            session.get(Visit, visit.id).window_end = MONDAY + timedelta(hours=7)
    for visit in visits:
        assign(database, clock, visit, unit)
    first_id = etas_of(database, unit)[0][0]

    with database.transaction() as session:
        assignment.unassign(session, clock, EVERY_SITE, first_id, StraightLine())

    assert [eta for _, eta, _ in etas_of(database, unit)] == [
        MONDAY + timedelta(hours=3), MONDAY + timedelta(hours=3, minutes=45)]


def test_reassigning_closes_up_the_old_units_day(day_unit, factory, database, clock):
    site, unit = day_unit
    other = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                         shifts=ALL_WEEK_DAYS)
    a, b = (visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
            for _ in range(2))
    with database.transaction() as session:
        for visit in (a, b):
            session.get(Visit, visit.id).window_end = MONDAY + timedelta(hours=5)
    assign(database, clock, a, unit)
    assign(database, clock, b, unit)
    first_id = etas_of(database, unit)[0][0]

    with database.transaction() as session:
        assignment.assign(session, clock, EVERY_SITE, first_id, other.id, StraightLine())

    [(_, eta, _)] = etas_of(database, unit)
    assert eta == MONDAY + timedelta(hours=3)


def test_a_unit_of_another_site_cannot_be_assigned(day_unit, factory, database, clock):
    site, _unit = day_unit
    stranger = factory.unit(base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                            shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))

    with pytest.raises(Exception, match="not a unit of"):
        assign(database, clock, visit, stranger)


def test_a_visit_of_another_site_is_not_found_for_a_scoped_caller(day_unit, factory, database,
                                                                  clock):
    from opsbackend.domain.errors import NotFound
    from opsbackend.domain.scope import Scope

    site, unit = day_unit
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    elsewhere = Scope(role="dispatcher", site_ids=frozenset({site.id + 1000}))

    with database.new_session() as session, pytest.raises(NotFound):
        assignment.suggestions(session, clock, elsewhere, visit.id, StraightLine())


def test_the_refused_assignment_changes_nothing(day_unit, factory, database, clock):
    site, unit = day_unit
    busy = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                    minutes=70)
    assign(database, clock, busy, unit)
    clash = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3),
                     minutes=70)

    with pytest.raises(Conflict):
        assign(database, clock, clash, unit)

    assert [v for v, _, _ in etas_of(database, unit)] == [busy.id]


def test_times_in_a_suggestion_are_utc(day_unit, factory, database, clock):
    site, unit = day_unit
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))

    [judged] = suggest(database, clock, visit)

    assert judged.placement.start.utcoffset() == timedelta(0)
    assert judged.placement.start == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_a_late_visit_on_the_unit_does_not_stop_the_next_two_from_queueing_in_order(
        day_unit, factory, database, clock):
    site, unit = day_unit
    late = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=1))
    assign(database, clock, late, unit)
    clock.set(MONDAY + timedelta(hours=1, minutes=50))  # nobody there yet, window closing
    first, second = (visit_at(factory, database, site, 34.0, -118.0,
                              MONDAY + timedelta(hours=6)) for _ in range(2))
    with database.transaction() as session:
        for visit in (first, second):
            session.get(Visit, visit.id).window_end = MONDAY + timedelta(hours=8)

    assign(database, clock, first, unit)
    clock.advance(minutes=1)
    assign(database, clock, second, unit)

    assert [(v, eta) for v, eta, _ in etas_of(database, unit)][1:] == [
        (first.id, MONDAY + timedelta(hours=6)),
        (second.id, MONDAY + timedelta(hours=6, minutes=45))]
