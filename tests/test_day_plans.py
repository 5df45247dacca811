from datetime import datetime, timedelta

from sqlalchemy import select

from opsbackend.models import Visit
from tests.test_dispatch import ALL_WEEK_DAYS, MONDAY, visit_at


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


def plan(client, auth, site, seconds=2):
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
