"""The board's Now view and actions through the Flask client: what a user sees is their
sites' records only, and what they do goes through the domain rules."""

import pytest
from sqlalchemy import select

from opsbackend.domain.alerting import alerts
from opsbackend.models import Alert, Bag, Visit
from tests.board_helpers import CSRF_FIELD, board_scenario, board_user, sign_in
from tests.factories import PHI, site_world


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


def test_a_viewer_reads_no_names_on_the_board(app, database, factory, clock):
    """As in the API: no family contact's or nurse's name, nor who acknowledged, nor the
    home's area."""
    world = site_world(factory, PHI)
    with database.transaction() as session:
        alerts.acknowledge(session, clock, world["alert_id"], by="user:9:rosalind@example.org")
    names = [PHI["contact_name"], PHI["nurse_name"], "rosalind@example.org",
             PHI["city"], PHI["postal_code"]]  # the home's area: in a visit's suggestions

    def board_of(role, email):
        board_user(database, email=email, role=role, site_ids=[world["site_id"]])
        client = app.test_client()
        sign_in(client, email=email)
        return "".join(client.get(path).get_data(as_text=True) for path in (
            "/board/now", f"/board/visits/{world['visit_id']}/suggestions"))

    viewer, dispatcher = board_of("viewer", "vic@example.org"), board_of("dispatcher", "d@x.org")

    assert [name for name in names if name in viewer] == []
    assert "Acknowledged" in viewer and "mother" in viewer
    assert [name for name in names if name in dispatcher] == names


def test_resolving_needs_a_reason_code(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    alert_id = found["alert"].id

    refused = post(client, f"/board/alerts/{alert_id}/resolve", reason="")
    done = post(client, f"/board/alerts/{alert_id}/resolve", reason="other",
                note="family called: pump fine")

    assert "choose what resolved it" in refused.get_data(as_text=True)
    assert "resolved (other (see note))" in done.get_data(as_text=True)
    with database.new_session() as session:
        resolved = session.get(Alert, alert_id)
        assert (resolved.resolution_reason, resolved.resolution) == (
            "other", "family called: pump fine")
        assert resolved.resolved_by == "user:1:dana@example.org"


def test_a_missed_bag_alert_is_not_resolved_while_its_bag_still_hangs(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    with database.transaction(actor="test:factory") as session:
        bag = session.scalars(select(Bag).where(Bag.course_id == found["overdue_course"].id)
                              .order_by(Bag.sequence)).first()
        alert = alerts.raise_alert(
            session, clock, kind="missed_bag_change", dedupe_key="test:hanging",
            site_id=found["site1"].id, course_id=bag.course_id, bag_id=bag.id,
            summary="bag still hanging").alert

    refused = post(client, f"/board/alerts/{alert.id}/resolve", reason="changed")

    assert "still hanging past its due time" in refused.get_data(as_text=True)
    with database.new_session() as session:
        assert session.get(Alert, alert.id).status == "open"


def test_moving_a_visit_reads_the_window_in_the_sites_local_time(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    response = post(client, f"/board/visits/{visit.id}/move", window_start="2026-03-02T08:00",
                    window_end="2026-03-02T09:30", reason_code="family_request")

    assert f"V{visit.id} moved." in response.get_data(as_text=True)
    with database.new_session() as session:
        moved = session.get(Visit, visit.id)
        # 08:00 in Los Angeles in winter is 16:00 UTC.
        assert (moved.window_start.hour, moved.window_end.hour) == (16, 17)
        assert moved.reason_code == "family_request"


def test_a_move_without_a_reason_changes_nothing(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    response = post(client, f"/board/visits/{visit.id}/move", window_start="2026-03-02T08:00",
                    window_end="2026-03-02T09:30")

    assert "not moved: choose a reason" in response.get_data(as_text=True)
    assert open_visit(database, found["soon_course"]).window_start == visit.window_start


@pytest.mark.parametrize("start", ["9999-12-31T23:00", "0001-01-01T00:00"])
def test_a_window_in_a_year_the_api_refuses_is_refused_here_too(app, database, factory,
                                                                clock, start):
    """A year 9999 in the site's zone overflows on its way to UTC: refused, not a 500."""
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    response = post(client, f"/board/visits/{visit.id}/move", window_start=start,
                    window_end="9999-12-31T23:30", reason_code="family_request")

    assert response.status_code == 200
    assert "not moved: give the new window" in response.get_data(as_text=True)
    assert open_visit(database, found["soon_course"]).window_start == visit.window_start


def test_a_digit_int_cannot_read_in_an_id_is_no_unit_not_a_server_error(
        app, database, factory, clock):
    """"¹" is a digit to str.isdigit but not a number to int()."""
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    response = post(client, f"/board/visits/{visit.id}/assign", unit_id="¹")

    assert response.status_code < 500
    assert open_visit(database, found["soon_course"]).unit_id is None


def test_cancelling_and_adding_a_visit_from_the_board(app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])

    added = post(client, f"/board/visits/{visit.id}/extra", kind="pump_check",
                 window_start="2026-03-02T11:00", window_end="2026-03-02T12:00")
    cancelled = post(client, f"/board/visits/{visit.id}/cancel", reason_code="duplicate")

    assert "New pump check visit created for W-SOON." in added.get_data(as_text=True)
    assert f"V{visit.id} cancelled." in cancelled.get_data(as_text=True)
    with database.new_session() as session:
        assert session.get(Visit, visit.id).status == "cancelled"
        assert session.scalars(select(Visit).where(Visit.kind == "pump_check")).one()


def test_callbacks_and_evv_exceptions_are_closed_from_the_board(app, database, factory,
                                                                clock):
    from opsbackend.domain.messaging import callbacks
    from opsbackend.domain.phone import evv
    from opsbackend.models import CallbackRequest, Contact, EvvException, Patient

    found = board_scenario(factory, database, clock)
    with database.transaction() as session:
        patient = session.scalars(select(Patient).where(Patient.study_code == "W-SOON")).one()
        contact = session.scalars(select(Contact).where(Contact.patient_id == patient.id)).one()
        request_id = callbacks.request_callback(session, clock, contact, patient).id
        exception_id = evv.record_exception(session, site_id=found["site1"].id,
                                            kind="caller_id_mismatch").id
    client = signed_in_client(app, database, [found["site1"].id])
    page = client.get("/board").get_data(as_text=True)

    post(client, f"/board/callbacks/{request_id}/done", outcome="reached", note="all fine")
    post(client, f"/board/evv-exceptions/{exception_id}/clear",
         reason_code="verified_by_call_back", note="called the nurse")

    assert "Families waiting for a call" in page and "caller id mismatch" in page
    with database.new_session() as session:
        assert session.get(CallbackRequest, request_id).outcome == "reached"
        assert session.get(EvvException, exception_id).status == "cleared"


def test_a_message_that_failed_is_listed_with_what_to_do(app, database, factory, clock):
    from opsbackend.domain.messaging import delivery_failures, outbox
    from opsbackend.models import Contact, OutboundMessage, Patient

    found = board_scenario(factory, database, clock)
    with database.transaction() as session:
        patient = session.scalars(select(Patient).where(Patient.study_code == "W-SOON")).one()
        contact = session.scalars(select(Contact).where(Contact.patient_id == patient.id)).one()
        [message] = outbox.queue_messages(session, clock, [dict(
            to_phone=contact.phone, contact=contact, template="visit.reminder", language="en",
            body="reminder", purpose="reminder", dedupe_key="test:failed")])
        session.get(OutboundMessage, message.id).status = "failed"
        session.flush()
        delivery_failures.scan(session, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    page = client.get("/board/now").get_data(as_text=True)

    failed = page.split('id="failed-heading"')[1]
    assert "family of W-SOON" in failed and "visit.reminder" in failed
    assert "Reach them another way, then resolve A" in failed


@pytest.mark.parametrize(("path", "field", "value"), [
    ("/board/alerts/{alert}/resolve", "note", "gate\x00code"),
    ("/board/visits/{visit}/assign", "unit_id", str(2**40)),
    ("/board/alerts/{alert}/acknowledge", "note", "on it\x00"),
])
def test_a_value_the_database_cannot_hold_is_refused_and_changes_nothing(
        app, database, factory, clock, path, field, value):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    visit = open_visit(database, found["soon_course"])
    url = path.format(alert=found["alert"].id, visit=visit.id)

    refused = post(client, url, **{field: value, "reason": "other"})

    assert refused.status_code == 400 and field in refused.get_data(as_text=True)
    with database.new_session() as session:
        assert session.get(Alert, found["alert"].id).status == "open"
        assert session.get(Visit, visit.id).unit_id is None


def test_a_huge_visit_id_in_the_query_is_refused_not_a_server_error(
        app, database, factory, clock):
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])

    assert client.get(f"/board?visit={2**40}").status_code == 400
