"""Whatever a signed-in dispatcher's form holds, the board answers it, never with a 500:
a seeded search (the same examples every run) of its POST forms, beside the pinned
cases in test_board_now.py and test_board_pages.py."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opsbackend.models import Visit
from tests.board_helpers import CSRF_FIELD, board_scenario
from tests.test_board_pages import signed_in_client

MOMENTS = st.one_of(st.sampled_from([
    "9999-12-31T23:59", "0001-01-01T00:00", "2026-03-02T10:00", "2026-03-02T25:00",
    "2100-01-01T00:00", "1899-12-31T23:59", "2026-03-08T02:30", "2026-11-01T01:30",
    "2026-03-02", "10000-01-01T00:00", ""]), st.text(max_size=20))
DAYS = st.one_of(st.sampled_from(["9999-12-31", "0001-01-01", "2026-03-02", "2026-02-30",
                                  "2100-01-01", "1900-01-01", ""]), st.text(max_size=12))
WORDS = st.one_of(st.text(max_size=30), st.sampled_from([
    "A1", "A-1", "A99999999999", "duplicate", "other", "changed", "family_request", "yes",
    "lab_draw", "reached", "¹", "٣"]))
IDS = st.one_of(st.integers(-5, 2**40).map(str), WORDS)
SEARCH = settings(max_examples=100, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


@pytest.fixture
def board(app, database, factory, clock):
    """A signed-in site-1 dispatcher's client, a CSRF token, the scenario, its visits."""
    found = board_scenario(factory, database, clock)
    client = signed_in_client(app, database, [found["site1"].id])
    token = CSRF_FIELD.search(client.get("/board").get_data(as_text=True)).group(1)
    with database.new_session() as session:
        visit_ids = session.scalars(select(Visit.id).order_by(Visit.id)).all()
    return client, token, found, visit_ids


def _sendable(fields: dict) -> dict:
    """As a form can carry them (no lone surrogates)."""
    return {k: v.encode("utf-8", "ignore").decode() for k, v in fields.items()}


@SEARCH
@given(action=st.sampled_from(["assign", "unassign", "move", "cancel", "extra"]),
       pick=st.integers(0, 5), fields=st.fixed_dictionaries({}, optional={
           "window_start": MOMENTS, "window_end": MOMENTS, "reason_code": WORDS,
           "note": WORDS, "kind": WORDS, "confirm_late": WORDS, "unit_id": IDS}))
def test_no_visit_form_is_a_500(board, action, pick, fields):
    client, token, _found, visit_ids = board
    path = f"/board/visits/{visit_ids[pick % len(visit_ids)]}/{action}"

    response = client.post(path, data=_sendable(fields) | {"csrf_token": token})

    assert response.status_code < 500, (path, fields)


@SEARCH
@given(action=st.sampled_from(["acknowledge", "resolve"]), fields=st.fixed_dictionaries(
    {}, optional={"reason": WORDS, "note": WORDS, "duplicate_of": WORDS}))
def test_no_alert_form_is_a_500(board, action, fields):
    client, token, found, _visits = board
    path = f"/board/alerts/{found['alert'].id}/{action}"

    response = client.post(path, data=_sendable(fields) | {"csrf_token": token})

    assert response.status_code < 500, (path, fields)


@SEARCH
@given(fields=st.fixed_dictionaries({}, optional={
    "site_id": IDS, "day": DAYS, "seconds": st.one_of(st.sampled_from(
        ["1.0", "inf", "nan", "1e308", "-1", "0.5", "2"]), WORDS)}))
def test_no_plan_form_is_a_500(board, fields):
    client, token, found, _visits = board
    fields = {"site_id": str(found["site1"].id)} | _sendable(fields)

    response = client.post("/board/plans", data=fields | {"csrf_token": token})

    assert response.status_code < 500, fields
