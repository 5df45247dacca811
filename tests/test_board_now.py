"""The board's Now view and actions through the Flask client: what a user sees is their
sites' records only, and what they do goes through the domain rules."""

from sqlalchemy import select

from opsbackend.domain.alerting import alerts
from opsbackend.models import Alert, Visit
from tests.board_helpers import CSRF_FIELD, board_scenario, board_user, sign_in


def signed_in_client(app, database, site_ids, role="dispatcher"):
    board_user(database, role=role, site_ids=site_ids)
    client = app.test_client()
    sign_in(client)
    return client


def post(client, path, **data):
    token = CSRF_FIELD.search(client.get("/board").get_data(as_text=True)).group(1)
    return client.post(path, data=data | {"csrf_token": token}, headers={"HX-Request": "true"})


def open_visit(database, course):
    with database.new_session() as session:
        return session.scalars(select(Visit).where(
            Visit.course_id == course.id, Visit.kind == "bag_change",
            Visit.status == "unassigned").order_by(Visit.window_start)).first()


def test_the_now_view_lists_bag_changes_by_deadline_with_their_state(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    page = client.get("/board/now").get_data(as_text=True)

    assert page.index("W-OVER") < page.index("W-SOON")
    assert "Overdue" in page and "overdue by 20 min" in page and "At risk" in page
    assert "Mon 10:00 PST" in page  # W-SOON's bag is due at 18:00 UTC, Los Angeles time
    assert "WEST-9" in page


def test_a_dispatcher_of_one_site_never_sees_another_sites_patient(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    with database.transaction() as session:
        alerts.raise_alert(session, clock, kind="missed_bag_change", dedupe_key="test:other",
                           site_id=found["site2"].id, summary="NE-HIDDEN bag 1 not changed")
    client = signed_in_client(app, database, [found["site1"].id])

    for path in ("/board", "/board/now"):
        assert "NE-HIDDEN" not in client.get(path).get_data(as_text=True)


def test_another_sites_visit_and_alert_are_not_found(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site2"].id])
    visit = open_visit(database, found["soon_course"])

    assert client.get(f"/board/visits/{visit.id}/suggestions").status_code == 404
    assert post(client, f"/board/alerts/{found['alert'].id}/acknowledge").status_code == 404
    with database.new_session() as session:
        assert session.get(Alert, found["alert"].id).status == "open"


def test_assigning_from_the_board_books_the_unit_through_the_domain_rules(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    panel = client.get(f"/board/visits/{visit.id}/suggestions").get_data(as_text=True)
    response = post(client, f"/board/visits/{visit.id}/assign", unit_id=found["unit"].id)

    assert "Assign WEST-9" in panel
    assert f"V{visit.id} assigned to WEST-9." in response.get_data(as_text=True)
    with database.new_session() as session:
        booked = session.get(Visit, visit.id)
        assert (booked.status, booked.unit_id) == ("assigned", found["unit"].id)


def test_a_refused_assignment_shows_the_servers_reason(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    stranger = factory.unit(site_id=found["site2"].id, call_sign="EAST-9")
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    response = post(client, f"/board/visits/{visit.id}/assign", unit_id=stranger.id)

    assert "Not assigned: EAST-9 is not a unit of" in response.get_data(as_text=True)
    assert open_visit(database, found["soon_course"]).id == visit.id  # still unassigned


def test_a_viewer_sees_the_board_but_cannot_assign(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id], role="viewer")
    visit = open_visit(database, found["soon_course"])

    assert "W-SOON" in client.get("/board").get_data(as_text=True)
    assert post(client, f"/board/visits/{visit.id}/assign",
                unit_id=found["unit"].id).status_code == 403


def test_resolving_needs_a_reason_code(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    alert_id = found["alert"].id

    refused = post(client, f"/board/alerts/{alert_id}/resolve", reason="")
    done = post(client, f"/board/alerts/{alert_id}/resolve", reason="false_alarm", note="ok")

    assert "choose what resolved it" in refused.get_data(as_text=True)
    assert "resolved (false alarm)" in done.get_data(as_text=True)
    with database.new_session() as session:
        resolved = session.get(Alert, alert_id)
        assert resolved.resolution == "false_alarm: ok"
        assert resolved.resolved_by == "user:1:dana@example.org"
