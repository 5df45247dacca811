"""The board's map, patient and day-plan pages through the Flask client."""

from sqlalchemy import select

from opsbackend.models import DayPlan, Patient, Visit
from tests.board_helpers import CSRF_FIELD, board_scenario, board_user, sign_in


def signed_in_client(app, database, site_ids, role="dispatcher"):
    board_user(database, role=role, site_ids=site_ids)
    client = app.test_client()
    sign_in(client)
    return client


def form_post(client, path, page, **data):
    token = CSRF_FIELD.search(client.get(page).get_data(as_text=True)).group(1)
    return client.post(path, data=data | {"csrf_token": token})


def test_the_map_shows_the_users_homes_and_units_and_marks_homes_out_of_reach(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    factory.active_course(patient_id=factory.patient_at(
        found["site1"].id, 35.37, -119.02, study_code="W-FAR", bag_interval_hours=None).id)
    client = signed_in_client(app, database, [found["site1"].id])

    page = client.get("/board/map").get_data(as_text=True)

    assert "W-OVER" in page and "WEST-9" in page and "NE-HIDDEN" not in page
    assert '"out_of_reach": true' in page and "Out of reach" in page
    assert "leaflet-1.9.4/leaflet.js" in page and "No map tiles are configured" in page


def test_a_viewer_has_no_map_of_homes_and_no_link_to_pages_it_cannot_open(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id], role="viewer")

    board = client.get("/board").get_data(as_text=True)

    assert client.get("/board/map").status_code == 403
    assert "/board/map" not in board and "/board/plan" not in board
    assert "W-OVER" in board  # the study codes and their state, as before


def test_the_patient_page_shows_the_timeline_and_another_sites_patient_is_not_found(
        app, database, factory, clock):
    board_scenario(factory, database, clock)
    with database.new_session() as session:
        mine = session.scalars(select(Patient).where(Patient.study_code == "W-OVER")).one()
        theirs = session.scalars(select(Patient).where(Patient.study_code == "NE-HIDDEN")).one()
    client = signed_in_client(app, database, [mine.site_id])

    page = client.get(f"/board/patients/{mine.id}").get_data(as_text=True)

    assert "Patient W-OVER" in page and "bag hung" in page
    assert client.get(f"/board/patients/{theirs.id}").status_code == 404


def test_a_day_plan_is_previewed_then_applied_from_the_board(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    made = form_post(client, "/board/plans", "/board/plan", site_id=found["site1"].id,
                     day="2026-03-02", seconds="1.0")
    plan_page = client.get(made.headers["Location"]).get_data(as_text=True)
    applied = form_post(client, made.headers["Location"] + "/apply", made.headers["Location"])

    assert made.status_code == 302 and "WEST-9" in plan_page and "preview" in plan_page
    assert "applied: every planned visit is booked" in client.get(
        applied.headers["Location"]).get_data(as_text=True)
    with database.new_session() as session:
        assert session.scalars(select(DayPlan.status)).one() == "applied"
        assert session.scalars(select(Visit).where(Visit.status == "assigned")).first()


def test_a_day_plan_for_another_site_is_refused(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    response = form_post(client, "/board/plans", "/board/plan", site_id=found["site2"].id,
                         day="2026-03-02", seconds="1.0")

    assert response.status_code == 302
    with database.new_session() as session:
        assert session.scalars(select(DayPlan)).first() is None


def test_a_day_plan_for_a_day_past_2099_is_refused_not_a_server_error(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    response = form_post(client, "/board/plans", "/board/plan", site_id=found["site1"].id,
                         day="9999-12-31", seconds="1.0")

    assert response.status_code == 302
    assert "give the day to plan" in client.get("/board/plan").get_data(as_text=True)
    with database.new_session() as session:
        assert session.scalars(select(DayPlan)).first() is None
