from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import assignment, day_plans
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.registry import units
from opsbackend.domain.scope import Scope
from opsbackend.models import Home, Visit
from tests.test_dispatch import ALL_WEEK_DAYS, MONDAY, StraightLine, visit_at


def setup_day(factory, database):
    """Two units at one site; four visits on Monday, one needing a skill nobody has."""
    site = factory.site()
    units = [factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                          skills=["pediatric", *extra], shifts=ALL_WEEK_DAYS)
             for extra in ([], ["infant"])]
    visits = [
        visit_at(factory, database, site, 34.02, -118.0, MONDAY + timedelta(hours=1)),
        visit_at(factory, database, site, 34.05, -118.05, MONDAY + timedelta(hours=1)),
        visit_at(factory, database, site, 34.1, -118.1, MONDAY + timedelta(hours=4),
                 skills=("pediatric", "infant")),
        visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=6),
                 skills=("picc_line",)),
    ]
    return site, units, visits


def plan(client, auth, site, seconds=1):
    return client.post("/api/v1/plans", json={"site_id": site.id, "day": "2026-03-02",
                                              "seconds": seconds},
                       headers=auth("dispatcher"))


def test_a_plan_routes_every_visit_it_can_inside_windows_skills_and_shifts(
        client, auth, factory, database):
    site, units, visits = setup_day(factory, database)

    response = plan(client, auth, site)

    assert response.status_code == 201, response.json
    body = response.json
    windows = {v.id: (v.window_start, v.window_end) for v in visits}
    planned = {s["visit_id"]: (r["unit_id"], s) for r in body["routes"] for s in r["stops"]}
    assert set(planned) == {visits[0].id, visits[1].id, visits[2].id}
    for visit_id, (_unit, stop) in planned.items():
        start = datetime.fromisoformat(stop["start"])
        assert windows[visit_id][0] <= start <= windows[visit_id][1]
        # shifts: 07:00-19:00 Los Angeles
        assert MONDAY <= start <= MONDAY + timedelta(hours=12)
    assert planned[visits[2].id][0] == units[1].id  # only the infant-trained unit may go
    assert [(u["visit_id"], u["reason"]) for u in body["unassigned"]] == [
        (visits[3].id, "no unit has the skills picc_line")]
    assert body["unassigned"][0]["study_code"] and body["unassigned"][0]["postal_code"]
    assert all(stop["study_code"] for route in body["routes"] for stop in route["stops"])
    assert body["status"] == "preview" and body["total_travel_minutes"] > 0
    with database.new_session() as session:
        assert session.scalars(select(Visit).where(Visit.unit_id.is_not(None))).all() == []


def test_a_unit_leaves_base_late_enough_not_to_wait_at_the_first_door(client, auth, factory,
                                                                        database):
    site = factory.site()
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    # The shift starts at 07:00; the only visit opens at 10:00, a few minutes' drive away.
    visit = visit_at(factory, database, site, 34.02, -118.0, MONDAY + timedelta(hours=3))

    [route] = plan(client, auth, site).json["routes"]

    [stop] = route["stops"]
    assert stop["visit_id"] == visit.id and stop["arrival"] == stop["start"]
    departure = datetime.fromisoformat(route["depart_at"])
    assert MONDAY + timedelta(hours=2, minutes=45) < departure < datetime.fromisoformat(
        stop["start"])


def test_applying_assigns_every_planned_visit_once(client, auth, factory, database):
    site, _units, visits = setup_day(factory, database)
    preview = plan(client, auth, site).json

    applied = client.post(f"/api/v1/plans/{preview['id']}/apply", headers=auth("dispatcher"))
    again = client.post(f"/api/v1/plans/{preview['id']}/apply", headers=auth("dispatcher"))

    assert applied.status_code == 200 and applied.json["status"] == "applied"
    assert again.status_code == 409
    with database.new_session() as session:
        assigned = {v.id: v.unit_id for v in session.scalars(
            select(Visit).where(Visit.status == "assigned"))}
    planned = {s["visit_id"]: r["unit_id"] for r in preview["routes"] for s in r["stops"]}
    assert assigned == planned


def test_applying_is_all_or_nothing(client, auth, factory, database):
    site, _units, visits = setup_day(factory, database)
    preview = plan(client, auth, site).json
    with database.transaction() as session:  # one visit is done before the plan is applied
        session.get(Visit, visits[1].id).status = "completed"

    response = client.post(f"/api/v1/plans/{preview['id']}/apply", headers=auth("dispatcher"))

    assert response.status_code == 409
    assert f"V{visits[1].id}" in response.json["message"]
    with database.new_session() as session:
        assert session.scalars(select(Visit).where(Visit.status == "assigned")).all() == []


def test_a_day_with_no_visits_is_a_clear_422(client, auth, factory):
    site = factory.site()

    response = plan(client, auth, site)

    assert response.status_code == 422
    assert "no visits to plan" in response.json["errors"]["json"]["day"][0]


def test_units_off_shift_are_named(client, auth, factory, database):
    site = factory.site()
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                 shifts=[])
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=2))

    body = plan(client, auth, site).json

    assert len(body["units_off_shift"]) == 1
    assert [(u["visit_id"], u["reason"]) for u in body["unassigned"]] == [
        (visit.id, "no units available")]


# Plans from now, on the domain functions with straight-line travel (1 minute a km).

LOCAL = ZoneInfo("America/Los_Angeles")
DAY = date(2026, 3, 2)


def at(hour, minute=0):
    return datetime.combine(DAY, time(hour, minute), LOCAL)


def plan_now(database, clock, site, **options):
    with database.transaction() as session:
        return day_plans.plan_day(session, clock, site.id, DAY, StraightLine(), seconds=0.5,
                                  **options)


def stops_of(plan):
    return {stop["visit_id"]: (route, stop) for route in plan.routes["routes"]
            for stop in route["stops"]}


def set_visit(database, visit, **values):
    with database.transaction() as session:
        row = session.get(Visit, visit.id)
        for name, value in values.items():
            setattr(row, name, value)


def test_a_plan_for_today_schedules_nothing_before_now(factory, database, clock):
    site = factory.site()
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    clock.set(at(11))
    closed = visit_at(factory, database, site, 34.0, -118.0, at(8))  # 08:00-09:00
    open_now = visit_at(factory, database, site, 34.09, -118.0, at(10, 30))  # 10 km away
    later = visit_at(factory, database, site, 34.0, -118.0, at(14))

    plan = plan_now(database, clock, site)

    planned = stops_of(plan)
    assert set(planned) == {open_now.id, later.id}
    assert plan.routes["unassigned"] == [{"visit_id": closed.id,
                                          "reason": "its window closed before now"}]
    assert datetime.fromisoformat(plan.routes["planned_from"]) == at(11)
    route, stop = planned[open_now.id]
    assert datetime.fromisoformat(route["depart_at"]) >= at(11)
    assert datetime.fromisoformat(stop["start"]) >= at(11, 9)  # 10 km from the base


def test_a_unit_sets_off_from_its_last_position_only_while_it_is_recent(factory, database,
                                                                        clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    clock.set(at(11))
    visit = visit_at(factory, database, site, 34.3, -118.0, at(11))  # 33 km from the base
    set_visit(database, visit, window_end=at(14))
    with database.transaction() as session:
        units.record_location(session, clock, unit.id, 34.3, -118.0, at=at(10, 50))

    fresh = stops_of(plan_now(database, clock, site))[visit.id]
    clock.set(at(11, 45))
    stale = stops_of(plan_now(database, clock, site))[visit.id]

    assert fresh[0]["starts_from"] == "position"
    assert datetime.fromisoformat(fresh[1]["start"]) == at(11)
    assert stale[0]["starts_from"] == "base"
    assert datetime.fromisoformat(stale[1]["start"]) >= at(11, 45) + timedelta(minutes=33)


def test_a_visit_under_way_stays_and_its_unit_goes_on_from_there(factory, database, clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    clock.set(at(11))
    on_site = visit_at(factory, database, site, 34.3, -118.0, at(10, 30), minutes=60)
    set_visit(database, on_site, status="on_site", unit_id=unit.id, arrived_at=at(10, 50))
    next_door = visit_at(factory, database, site, 34.3, -118.0, at(11), minutes=30)

    plan = plan_now(database, clock, site)

    route, stop = stops_of(plan)[next_door.id]
    assert on_site.id not in stops_of(plan)
    assert (route["starts_from"], route["after_visit_id"]) == ("visit", on_site.id)
    assert datetime.fromisoformat(stop["start"]) == at(11, 50)  # once the visit is done


def test_every_stop_waits_for_the_shift_that_covers_it(factory, database, clock):
    site = factory.site()
    split = [{"weekday": 0, "starts_at": time(7), "ends_at": time(11)},
             {"weekday": 0, "starts_at": time(15), "ends_at": time(19)}]
    factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=split)
    night = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0,
                         shifts=[{"weekday": 0, "starts_at": time(22), "ends_at": time(6)}],
                         skills=["pediatric", "night"])
    afternoon = visit_at(factory, database, site, 34.05, -118.0, at(11, 30))  # 11:30-12:30
    set_visit(database, afternoon, window_end=at(16))
    late = visit_at(factory, database, site, 34.05, -118.0, at(23, 30),
                    skills=("pediatric", "night"))

    plan = plan_now(database, clock, site)

    route, stop = stops_of(plan)[afternoon.id]
    assert datetime.fromisoformat(route["shift_opens"]) == at(15)
    assert datetime.fromisoformat(stop["start"]) >= at(15, 5)
    route, stop = stops_of(plan)[late.id]
    assert route["unit_id"] == night.id
    assert datetime.fromisoformat(route["shift_closes"]) == at(6) + timedelta(days=1)
    assert len([r for r in plan.routes["routes"] if r["unit_id"] != night.id]) == 2


def two_bases(factory, database, site):
    """Two units 37 km apart, a visit next to each: apart by distance, together by fleet."""
    for lon, first in ((-118.2, 9), (-117.8, 11)):
        factory.unit(site_id=site.id, base_lat=34.0, base_lon=lon, shifts=ALL_WEEK_DAYS)
        visit_at(factory, database, site, 34.01, lon, at(first))
        visit_at(factory, database, site, 34.01, lon, at(first + 4))


def test_the_site_chooses_the_objective_and_the_plan_says_which(factory, database, clock):
    by_distance, by_fleet = factory.site(), factory.site(routing_objective="fleet")
    for site in (by_distance, by_fleet):
        two_bases(factory, database, site)

    distance_plan = plan_now(database, clock, by_distance)
    fleet_plan = plan_now(database, clock, by_fleet)
    asked = plan_now(database, clock, by_fleet, objective="distance")

    def used(plan):
        return len([r for r in plan.routes["routes"] if r["stops"]])

    assert (distance_plan.routes["objective"], used(distance_plan)) == ("distance", 2)
    assert (fleet_plan.routes["objective"], used(fleet_plan)) == ("fleet", 1)
    assert (asked.routes["objective"], used(asked)) == ("distance", 2)
    assert fleet_plan.routes["engine"] == "pyvrp"


def test_the_routing_objective_is_a_site_setting(client, auth, factory):
    site = factory.site()
    headers = auth("admin")

    changed = client.patch(f"/api/v1/sites/{site.id}", json={"routing_objective": "fleet"},
                           headers=headers)
    refused = client.patch(f"/api/v1/sites/{site.id}", json={"routing_objective": "cheap"},
                           headers=headers)

    assert changed.status_code == 200 and changed.json["routing_objective"] == "fleet"
    assert refused.status_code == 422 and "routing_objective" in refused.json["errors"]["json"]


def test_a_plan_for_a_day_that_is_over_is_refused(factory, database, clock):
    site = factory.site()
    visit_at(factory, database, site, 34.0, -118.0, at(9))
    clock.set(at(0) + timedelta(days=1, minutes=1))

    with pytest.raises(Invalid, match="is over"):
        plan_now(database, clock, site)


def test_applying_refuses_a_plan_something_was_booked_under(factory, database, clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    visit_at(factory, database, site, 34.0, -118.0, at(9))
    plan = plan_now(database, clock, site)
    newcomer = visit_at(factory, database, site, 34.0, -118.0, at(15))
    with database.transaction() as session:
        assignment.assign(session, clock, Scope.everything(), newcomer.id, unit.id, StraightLine())

    with pytest.raises(Conflict, match=f"V{newcomer.id} was booked"), \
            database.transaction() as session:
        day_plans.apply_plan(session, clock, plan.id, StraightLine())


def test_applying_books_the_planned_times_and_frees_what_found_no_room(factory, database,
                                                                        clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    first = visit_at(factory, database, site, 34.0, -118.0, at(9), minutes=60)
    clash = visit_at(factory, database, site, 34.0, -118.0, at(9), minutes=60)
    set_visit(database, first, window_end=at(9, 5))
    set_visit(database, clash, window_end=at(9, 5), status="assigned", unit_id=unit.id)
    plan = plan_now(database, clock, site)
    [left] = plan.routes["unassigned"]

    with database.transaction() as session:
        day_plans.apply_plan(session, clock, plan.id, StraightLine())

    with database.new_session() as session:
        booked = session.get(Visit, stops_of(plan).popitem()[0])
        freed = session.get(Visit, left["visit_id"])
        assert booked.status == "assigned" and booked.eta == at(9)
        assert (freed.status, freed.unit_id) == ("unassigned", None)


def test_applying_leaves_a_visit_left_out_for_its_own_reasons_as_it_was(factory, database,
                                                                         clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, shifts=ALL_WEEK_DAYS)
    visit_at(factory, database, site, 34.0, -118.0, at(9))
    unplaceable = visit_at(factory, database, site, 34.0, -118.0, at(11))
    set_visit(database, unplaceable, status="assigned", unit_id=unit.id)
    with database.transaction() as session:  # booked by hand; then the address lost its fix
        home = session.scalars(select(Home).where(Home.patient_id == unplaceable.patient_id)).one()
        home.lat = home.lon = None
    plan = plan_now(database, clock, site)

    with database.transaction() as session:
        day_plans.apply_plan(session, clock, plan.id, StraightLine())

    assert plan.routes["unassigned"] == [{"visit_id": unplaceable.id,
                                          "reason": "the home has no coordinates"}]
    with database.new_session() as session:
        assert session.get(Visit, unplaceable.id).unit_id == unit.id
