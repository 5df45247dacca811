from datetime import date, timedelta

from sqlalchemy import select

from opsbackend.domain.dispatch import visits
from opsbackend.domain.infusion import course_lifecycle, visit_schedule
from opsbackend.models import AuditEvent, Deviation, Visit
from tests.factories import count_rows


def visit_rows(database, course_id):
    with database.new_session() as session:
        rows = session.scalars(
            select(Visit).where(Visit.course_id == course_id).order_by(Visit.window_start)
        ).all()
    return [(v.kind, v.status, v.window_start, v.window_end) for v in rows]


def open_visits(database, course_id):
    return [v for v in visit_rows(database, course_id) if v[1] == "unassigned"]


def test_a_scheduled_course_has_a_start_visit_around_its_planned_start(factory, database):
    course = factory.course()

    [(kind, status, start, end)] = visit_rows(database, course.id)

    assert (kind, status) == ("course_start", "unassigned")
    assert start == course.planned_start_at - timedelta(hours=1)
    assert end == course.planned_start_at + timedelta(hours=1)


def test_rescheduling_the_start_moves_its_visit(client, auth, factory, database):
    course = factory.course()
    later = course.planned_start_at + timedelta(days=1)

    client.patch(f"/api/v1/courses/{course.id}", json={"planned_start_at": later.isoformat()},
                 headers=auth("dispatcher"))

    [(_kind, _status, start, _end)] = visit_rows(database, course.id)
    assert start == later - timedelta(hours=1)


def test_bag_change_visits_cover_the_horizon_with_the_change_window(factory, database, clock):
    course = factory.active_course(started_at=clock.now(), bag_interval_hours=24)

    rows = visit_rows(database, course.id)

    bag_changes = [r for r in rows if r[0] == "bag_change"]
    dues = [clock.now() + timedelta(hours=24 * n) for n in (1, 2, 3)]
    assert [(r[2], r[3]) for r in bag_changes] == [(d - timedelta(hours=2), d) for d in dues]
    assert [r for r in rows if r[0] == "course_start"][0][1] == "cancelled"


def test_running_the_generator_twice_changes_nothing(factory, database, clock):
    course = factory.active_course(bag_interval_hours=48)
    with database.transaction() as session:
        visit_schedule.generate_visits(session, clock)
    before = visit_rows(database, course.id)
    events_before = count_rows(database, AuditEvent)

    with database.transaction() as session:
        visit_schedule.generate_visits(session, clock)

    assert visit_rows(database, course.id) == before
    assert count_rows(database, AuditEvent) == events_before


def test_the_horizon_rolls_forward_as_time_passes(factory, database, clock):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=23)
    with database.transaction() as session:
        visit_schedule.generate_visits(session, clock)

    assert len([r for r in visit_rows(database, course.id) if r[0] == "bag_change"]) == 4


def test_a_late_change_moves_the_later_visits(client, auth, factory, database, clock):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=25)

    client.post(f"/api/v1/courses/{course.id}/bag-changes", json={"no_flush_confirmed": True},
                headers=auth("nurse"))

    rows = visit_rows(database, course.id)
    done = [r for r in rows if r[1] == "completed"]
    upcoming = [r for r in rows if r[0] == "bag_change" and r[1] == "unassigned"]
    assert len(done) == 1
    assert upcoming[0][3] == clock.now() + timedelta(hours=24)
    assert [r[3] - upcoming[0][3] for r in upcoming] == [timedelta(hours=24 * n)
                                                          for n in range(len(upcoming))]
    with database.new_session() as session:
        keys = session.scalars(select(Visit.dedupe_key).where(Visit.course_id == course.id))
        assert len(list(keys)) == len(rows)  # moved in place, no duplicates


def test_pausing_cancels_open_visits_and_resuming_brings_them_back(factory, database, clock):
    course = factory.active_course(bag_interval_hours=48)
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, course.id)
    assert open_visits(database, course.id) == []

    clock.advance(hours=1)
    with database.transaction() as session:
        course_lifecycle.resume_course(session, clock, course.id)

    assert len(open_visits(database, course.id)) >= 1


def test_discontinuing_leaves_only_a_disconnect_visit(client, auth, factory, database, clock):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=5)

    client.post(f"/api/v1/courses/{course.id}/discontinue", json={"reason": "relapse"},
                headers=auth("dispatcher"))

    [(kind, _status, start, _end)] = open_visits(database, course.id)
    assert (kind, start) == ("course_end", clock.now())


def test_an_end_visit_is_planned_at_the_projected_end(factory, database, clock):
    course = factory.active_course(bag_interval_hours=168, duration_days=3)

    rows = visit_rows(database, course.id)

    assert [r[0] for r in rows if r[1] == "unassigned"] == ["course_end"]
    assert rows[-1][2] == course.started_at + timedelta(days=3)


def test_an_infant_visit_needs_infant_and_pediatric_skills(factory, database, clock):
    infant = factory.patient(date_of_birth=date(2025, 9, 1))
    child = factory.patient(date_of_birth=date(2019, 9, 1))
    for patient in (infant, child):
        factory.active_course(patient_id=patient.id)

    with database.new_session() as session:
        skills = {
            v.patient_id: v.required_skills
            for v in session.scalars(select(Visit).where(Visit.kind == "bag_change"))
        }
    assert skills[infant.id] == ["infant", "pediatric"]
    assert skills[child.id] == ["pediatric"]


def test_a_new_skill_rule_applies_to_generated_visits(client, auth, factory, database):
    site = factory.site()
    client.post("/api/v1/skill-rules", json={"name": "picc", "skill": "picc_line",
                                             "site_id": site.id}, headers=auth("admin"))
    patient = factory.patient(site_id=site.id)

    course = factory.active_course(patient_id=patient.id)

    with database.new_session() as session:
        visit = session.scalars(select(Visit).where(Visit.course_id == course.id,
                                                    Visit.kind == "bag_change")).first()
    assert "picc_line" in visit.required_skills


def test_a_missed_visit_is_marked_once_with_a_deviation(factory, database, clock):
    course = factory.course()  # start visit window closes 1 h after the planned start
    clock.set(course.planned_start_at + timedelta(hours=2))

    with database.transaction() as session:
        first = visits.mark_missed_visits(session, clock)
    with database.transaction() as session:
        second = visits.mark_missed_visits(session, clock)

    assert len(first) == 1 and second == []
    assert count_rows(database, Deviation, Deviation.kind == "missed_visit") == 1


def test_early_discontinuation_is_one_deviation(client, auth, factory, database, clock):
    course = factory.active_course()
    clock.advance(days=2)

    client.post(f"/api/v1/courses/{course.id}/discontinue", json={"reason": "toxicity"},
                headers=auth("dispatcher"))

    deviations = client.get("/api/v1/deviations?kind=early_discontinuation",
                            headers=auth("viewer")).json["items"]
    assert len(deviations) == 1
    assert deviations[0]["minutes"] == 26 * 24 * 60
    assert deviations[0]["evidence"]["reason"] == "toxicity"


def test_visits_list_filters_by_course_and_status(client, auth, factory):
    course = factory.active_course(bag_interval_hours=24)
    factory.active_course()

    listed = client.get(f"/api/v1/visits?course_id={course.id}&status=unassigned",
                        headers=auth("viewer")).json

    assert listed["total"] == 3
    assert {v["code"] for v in listed["items"]} == {f"V{v['id']}" for v in listed["items"]}
