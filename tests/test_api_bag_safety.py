"""API bag changes once per Idempotency-Key, and one running course per patient
(issue 12 §3)."""

import pytest

from opsbackend.models import Bag, BagChangeRequest
from tests.factories import count_rows


def change(client, auth_headers, course_id, key=None, **body):
    headers = auth_headers | ({"Idempotency-Key": key} if key else {})
    return client.post(f"/api/v1/courses/{course_id}/bag-changes",
                       json={"no_flush_confirmed": True} | body, headers=headers)


@pytest.fixture
def course(factory, clock):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=23)
    return course


def test_a_retried_bag_change_returns_the_first_result(client, auth, database, course):
    headers = auth("dispatcher")

    first = change(client, headers, course.id, "change-1", volume_ml=240)
    again = change(client, headers, course.id, "change-1", volume_ml=240)

    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.json["new_bag"]["sequence"] == 2
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(database, Bag, Bag.course_id == course.id) == 2
    assert count_rows(database, BagChangeRequest) == 1


def test_the_same_key_with_another_body_is_refused(client, auth, database, course):
    headers = auth("dispatcher")
    change(client, headers, course.id, "change-1", volume_ml=240)

    other = change(client, headers, course.id, "change-1", volume_ml=250)

    assert other.status_code == 409 and "Idempotency-Key" in str(other.json)
    assert count_rows(database, Bag, Bag.course_id == course.id) == 2


def test_another_key_is_another_change(client, auth, database, course):
    headers = auth("dispatcher")

    change(client, headers, course.id, "change-1")
    second = change(client, headers, course.id, "change-2")

    assert second.json["new_bag"]["sequence"] == 3


def test_a_refused_change_keeps_no_key(client, auth, database, course):
    headers = auth("dispatcher")

    refused = change(client, headers, course.id, "k", no_flush_confirmed=False)
    accepted = change(client, headers, course.id, "k")

    assert refused.status_code == 422 and accepted.status_code == 201


def test_a_bad_key_is_a_422_naming_the_header(client, auth, course):
    refused = change(client, auth("dispatcher"), course.id, "x" * 121)

    assert refused.status_code == 422 and "Idempotency-Key" in str(refused.json)


@pytest.mark.postgres_only
def test_parallel_retries_of_one_key_record_one_change(app, auth, database, course):
    from tests.test_phone_safety import together

    headers = auth("dispatcher")
    app.test_client().get("/healthz")

    replies = together(6, lambda: change(app.test_client(), headers, course.id, "same"))

    assert {reply.status_code for reply in replies} == {201}
    assert len({reply.json["new_bag"]["id"] for reply in replies}) == 1
    assert count_rows(database, Bag, Bag.course_id == course.id) == 2


def test_a_course_cannot_start_while_the_patient_has_another_running(client, auth, factory):
    running = factory.active_course()
    second = factory.course(patient_id=running.patient_id)

    refused = client.post(f"/api/v1/courses/{second.id}/start", json={},
                          headers=auth("dispatcher"))

    assert refused.status_code == 409
    assert f"course {running.id} is active" in str(refused.json)
