from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.errors import Conflict
from opsbackend.domain.infusion import course_lifecycle
from opsbackend.models import Bag, CourseEvent
from tests.factories import count_rows


def post(client, headers, path, **body):
    return client.post(path, json=body, headers=headers)


def test_starting_a_course_hangs_bag_1_at_the_start_time(client, auth, factory, clock):
    course = factory.course(bag_interval_hours=48)
    started = clock.now() - timedelta(hours=1)

    response = post(client, auth("dispatcher"), f"/api/v1/courses/{course.id}/start",
                    at=started.isoformat())
    bags = client.get(f"/api/v1/courses/{course.id}/bags", headers=auth("viewer")).json

    assert response.status_code == 200
    assert response.json["status"] == "active"
    assert [(b["sequence"], b["hung_at"], b["due_at"]) for b in bags] == [
        (1, started.isoformat(), (started + timedelta(hours=48)).isoformat())
    ]


LEGAL = [
    ("scheduled", "start", "active"),
    ("active", "pause", "paused"),
    ("paused", "resume", "active"),
    ("active", "discontinue", "discontinued"),
    ("paused", "discontinue", "discontinued"),
    ("scheduled", "discontinue", "discontinued"),
]
ILLEGAL = [
    ("scheduled", "pause"),
    ("scheduled", "resume"),
    ("active", "start"),
    ("active", "resume"),
    ("paused", "pause"),
    ("paused", "start"),
    ("discontinued", "start"),
    ("discontinued", "resume"),
    ("discontinued", "discontinue"),
]
STEPS_TO = {
    "scheduled": [],
    "active": ["start"],
    "paused": ["start", "pause"],
    "discontinued": ["discontinue"],
}


def course_in(client, headers, factory, state):
    course = factory.course()
    for step in STEPS_TO[state]:
        body = {"reason": "test"} if step == "discontinue" else {}
        assert post(client, headers, f"/api/v1/courses/{course.id}/{step}",
                    **body).status_code == 200
    return course


@pytest.mark.parametrize(("state", "action", "result"), LEGAL)
def test_legal_transitions(client, auth, factory, state, action, result):
    headers = auth("dispatcher")
    course = course_in(client, headers, factory, state)
    body = {"reason": "family request"} if action == "discontinue" else {}

    response = post(client, headers, f"/api/v1/courses/{course.id}/{action}", **body)

    assert response.status_code == 200, response.json
    assert response.json["status"] == result


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_illegal_transitions_are_a_409_naming_the_state(client, auth, factory, state, action):
    headers = auth("dispatcher")
    course = course_in(client, headers, factory, state)
    body = {"reason": "x"} if action == "discontinue" else {}

    response = post(client, headers, f"/api/v1/courses/{course.id}/{action}", **body)

    assert response.status_code == 409
    assert state in response.json["message"]


def test_a_start_time_in_the_future_is_refused(client, auth, factory, clock):
    course = factory.course()

    response = post(client, auth("dispatcher"), f"/api/v1/courses/{course.id}/start",
                    at=(clock.now() + timedelta(hours=2)).isoformat())

    assert response.status_code == 422
    assert "at" in response.json["errors"]["json"]
    assert count_rows(factory.database, Bag) == 0


def test_pause_and_resume_extend_the_projected_end(client, auth, factory, clock):
    headers = auth("dispatcher")
    course = factory.active_course(started_at=clock.now(), bag_interval_hours=168)
    schedule = f"/api/v1/courses/{course.id}/schedule"
    planned_end = client.get(schedule, headers=headers).json["projected_end_at"]
    assert planned_end == (clock.now() + timedelta(days=28)).isoformat()

    clock.advance(hours=10)
    post(client, headers, f"/api/v1/courses/{course.id}/pause", reason="fever")
    clock.advance(hours=3)
    post(client, headers, f"/api/v1/courses/{course.id}/resume")
    after = client.get(schedule, headers=headers).json

    assert after["projected_end_at"] == (datetime.fromisoformat(planned_end)
                                         + timedelta(hours=3)).isoformat()
    assert after["interrupted_hours"] == 3.0
    assert after["infused_hours"] == 10.0


def test_the_course_completes_when_its_infusion_time_is_delivered(database, factory, clock):
    course = factory.active_course(started_at=clock.now(), bag_interval_hours=168,
                                   duration_days=7)
    clock.advance(hours=1)
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, course.id)
    clock.advance(hours=2)
    with database.transaction() as session:
        course_lifecycle.resume_course(session, clock, course.id)

    clock.set(course.started_at + timedelta(days=7))  # 2 h of those 7 days were on hold
    with database.transaction() as session:
        done_early = course_lifecycle.complete_delivered_courses(session, clock)
    clock.advance(hours=2)
    with database.transaction() as session:
        done = course_lifecycle.complete_delivered_courses(session, clock)
        finished = session.get(type(course), course.id)
        kinds = list(session.scalars(select(CourseEvent.kind).order_by(CourseEvent.id)))

    assert (done_early, done) == (0, 1)
    assert finished.status == "completed"
    assert finished.ended_at == course.started_at + timedelta(days=7, hours=2)
    assert kinds == ["ordered", "started", "paused", "resumed", "completed"]


def test_transitions_are_refused_in_the_domain_too(database, factory, clock):
    course = factory.course()

    with pytest.raises(Conflict, match="scheduled"), database.transaction() as session:
        course_lifecycle.resume_course(session, clock, course.id)


@pytest.mark.parametrize(
    ("zone", "hung_local", "due_local"),
    [
        # Spring forward: 24 real hours later the wall clock shows one hour more.
        ("America/New_York", "2026-03-07T12:00:00-05:00", "2026-03-08T13:00:00-04:00"),
        ("America/Los_Angeles", "2026-03-07T01:30:00-08:00", "2026-03-08T01:30:00-08:00"),
        ("America/Los_Angeles", "2026-03-07T12:00:00-08:00", "2026-03-08T13:00:00-07:00"),
        # Fall back: the wall clock shows one hour less.
        ("America/New_York", "2026-10-31T12:00:00-04:00", "2026-11-01T11:00:00-05:00"),
        ("America/Los_Angeles", "2026-10-31T01:30:00-07:00", "2026-11-01T00:30:00-08:00"),
    ],
)
def test_a_24h_bag_is_due_24_real_hours_later_across_dst(
    client, auth, factory, clock, zone, hung_local, due_local
):
    hung = datetime.fromisoformat(hung_local)
    clock.set(hung + timedelta(minutes=1))
    site = factory.site(timezone=zone)
    patient = factory.patient(site_id=site.id)
    course = factory.course(patient_id=patient.id, bag_interval_hours=24,
                            planned_start_at=hung)

    post(client, auth("dispatcher"), f"/api/v1/courses/{course.id}/start", at=hung_local)
    schedule = client.get(f"/api/v1/courses/{course.id}/schedule", headers=auth("viewer")).json

    due = datetime.fromisoformat(schedule["due_at"])
    assert due - hung == timedelta(hours=24)
    assert due == datetime.fromisoformat(due_local)
    assert schedule["site_timezone"] == zone
    assert schedule["due_at"].endswith("+00:00")
    assert due.astimezone(UTC) == datetime.fromisoformat(due_local).astimezone(UTC)
