"""An urgent visit into today's applied plan: fewest visits moved, all or nothing."""

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import day_plans, plan_insertion
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.scope import Scope
from opsbackend.models import DayPlan, Visit
from tests.test_day_plans import DAY, at, set_visit
from tests.test_dispatch import ALL_WEEK_DAYS, StraightLine, visit_at

EVERYWHERE = Scope.everything()


def applied_plan(database, clock, site):
    with database.transaction() as session:
        plan = day_plans.plan_day(session, clock, site.id, DAY, StraightLine(), seconds=0.5)
        day_plans.apply_plan(session, clock, plan.id, StraightLine())
        return plan


def insert(database, clock, plan, visit, scope=EVERYWHERE):
    with database.transaction() as session:
        return plan_insertion.insert_visit(session, clock, scope, plan.id, visit.id,
                                           StraightLine())


def booked(database):
    with database.new_session() as session:
        return {v.id: (v.unit_id, v.eta) for v in session.scalars(
            select(Visit).where(Visit.status == "assigned"))}


@pytest.fixture
def day(factory, database, clock):
    """Two units at one base, three visits booked by an applied plan; now 08:00."""
    site = factory.site()
    units = [factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                          skills=["pediatric"], shifts=ALL_WEEK_DAYS) for _ in range(2)]
    clock.set(at(8))
    for hour in (9, 11, 14):
        visit_at(factory, database, site, 34.05, -118.0, at(hour))
    return site, units, applied_plan(database, clock, site)


def test_an_urgent_visit_slips_into_a_gap_and_nobody_moves(day, factory, database, clock):
    site, units, plan = day
    before = booked(database)
    urgent = visit_at(factory, database, site, 34.02, -118.0, at(9, 30))

    inserted = insert(database, clock, plan, urgent)

    assert inserted.moved == []
    assert at(9, 30) <= inserted.visit.eta <= at(10, 30)
    after = booked(database)
    assert after[urgent.id][0] in {u.id for u in units}
    assert {k: v[0] for k, v in after.items() if k != urgent.id} == \
        {k: v[0] for k, v in before.items()}
    with database.new_session() as session:
        saved = session.get(DayPlan, plan.id)
        assert urgent.id in {s["visit_id"] for r in saved.routes["routes"] for s in r["stops"]}
        assert saved.routes["insertions"][0]["visit_id"] == urgent.id


def test_one_visit_moves_to_another_unit_when_only_that_makes_room(factory, database, clock):
    site = factory.site()
    trained = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                           skills=["pediatric", "infant"], shifts=ALL_WEEK_DAYS)
    other = factory.unit(site_id=site.id, base_lat=34.2, base_lon=-118.0,
                         skills=["pediatric"], shifts=ALL_WEEK_DAYS)
    clock.set(at(8))
    routine = visit_at(factory, database, site, 34.01, -118.0, at(10))
    set_visit(database, routine, window_end=at(10, 10))
    plan = applied_plan(database, clock, site)
    assert booked(database)[routine.id][0] == trained.id  # next door to its base
    urgent = visit_at(factory, database, site, 34.01, -118.0, at(10),
                      skills=("pediatric", "infant"))
    set_visit(database, urgent, window_end=at(10, 10))

    inserted = insert(database, clock, plan, urgent)

    assert inserted.unit.id == trained.id
    assert inserted.moved == [{"visit_id": routine.id, "from_unit_id": trained.id,
                               "to_unit_id": other.id}]
    assert booked(database)[routine.id][0] == other.id


def test_a_visit_that_cannot_fit_is_refused_and_nothing_changes(day, factory, database, clock):
    site, _units, plan = day
    before = booked(database)
    nobody = visit_at(factory, database, site, 34.0, -118.0, at(10), skills=("ecmo",))

    with pytest.raises(Conflict, match="no unit has the skills ecmo"):
        insert(database, clock, plan, nobody)

    assert booked(database) == before


def test_only_an_applied_plan_of_the_callers_sites_takes_visits(day, factory, database, clock):
    site, _units, plan = day
    urgent = visit_at(factory, database, site, 34.02, -118.0, at(9, 30))
    elsewhere = visit_at(factory, database, factory.site(), 34.02, -118.0, at(9, 30))
    with database.transaction() as session:
        preview = day_plans.plan_day(session, clock, site.id, DAY, StraightLine(), seconds=0.5)

    with pytest.raises(NotFound):
        insert(database, clock, plan, urgent, scope=Scope("dispatcher", frozenset({-1})))
    with pytest.raises(Conflict, match="apply it"):
        insert(database, clock, preview, urgent)
    with pytest.raises(Invalid, match="not at this plan's site"):
        insert(database, clock, plan, elsewhere)


def test_insertion_through_the_api(day, factory, database, clock, client, auth):
    site, _units, plan = day
    urgent = visit_at(factory, database, site, 34.02, -118.0, at(9, 30))
    headers = auth("dispatcher")

    response = client.post(f"/api/v1/plans/{plan.id}/insert", json={"visit_id": urgent.id},
                           headers=headers)
    again = client.post(f"/api/v1/plans/{plan.id}/insert", json={"visit_id": urgent.id},
                        headers=headers)
    bad = client.post(f"/api/v1/plans/{plan.id}/insert", json={"visit_id": 2**40},
                      headers=headers)
    no_plan = client.post(f"/api/v1/plans/{2**40}/insert", json={"visit_id": urgent.id},
                          headers=headers)

    assert response.status_code == 200, response.json
    body = response.json
    assert body["visit_id"] == urgent.id and body["moved"] == []
    assert body["plan"]["insertions"][0]["unit_id"] == body["unit_id"]
    assert again.status_code == 409 and "assigned" in again.json["message"]
    assert bad.status_code == 422 and "visit_id" in bad.json["errors"]["json"]
    assert no_plan.status_code == 404


def test_later_visits_on_the_unit_get_their_new_times(factory, database, clock):
    site = factory.site()
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    clock.set(at(8))
    later = visit_at(factory, database, site, 34.0, -118.0, at(9))  # 09:00-10:00
    plan = applied_plan(database, clock, site)
    urgent = visit_at(factory, database, site, 34.0, -118.0, at(9), minutes=30)
    set_visit(database, urgent, window_end=at(9, 5))

    inserted = insert(database, clock, plan, urgent)

    assert inserted.visit.eta == at(9)
    assert inserted.retimed == [{"visit_id": later.id, "eta": at(9, 30)}]
    assert booked(database)[later.id][1] == at(9, 30)
