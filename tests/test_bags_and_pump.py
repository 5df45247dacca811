from datetime import timedelta

from opsbackend.models import Bag, Deviation, PumpReport
from tests.factories import count_rows


def change(client, headers, course_id, **body):
    body.setdefault("no_flush_confirmed", True)
    return client.post(f"/api/v1/courses/{course_id}/bag-changes", json=body, headers=headers)


def report(client, headers, course_id, **body):
    return client.post(f"/api/v1/courses/{course_id}/pump-reports", json=body, headers=headers)


def test_a_bag_change_closes_the_bag_and_hangs_the_next(client, auth, factory, clock):
    course = factory.active_course(bag_interval_hours=24, bag_volume_ml=250)
    nurse = factory.nurse()
    clock.advance(hours=23)

    response = change(client, auth("nurse"), course.id, nurse_id=nurse.id,
                      double_checked_by="RN Park")

    assert response.status_code == 201, response.json
    old, new = response.json["old_bag"], response.json["new_bag"]
    assert old["changed_at"] == clock.now().isoformat()
    assert old["change_timing_flag"] is None
    assert old["no_flush_confirmed"] is True and old["double_checked_by"] == "RN Park"
    assert new["sequence"] == 2 and new["hung_at"] == clock.now().isoformat()
    assert new["due_at"] == (clock.now() + timedelta(hours=24)).isoformat()
    assert new["volume_ml"] == 250


def test_an_early_change_is_flagged_but_not_a_deviation(client, auth, factory, clock, database):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=20)  # the window opens 2 h before due

    response = change(client, auth("nurse"), course.id)

    assert response.json["old_bag"]["change_timing_flag"] == "early"
    assert count_rows(database, Deviation) == 0


def test_a_late_change_is_flagged_and_a_deviation_once(client, auth, factory, clock, database):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=24, minutes=37)

    response = change(client, auth("nurse"), course.id)
    deviations = client.get("/api/v1/deviations?kind=late_bag_change",
                            headers=auth("viewer")).json

    assert response.json["old_bag"]["change_timing_flag"] == "late"
    assert deviations["total"] == 1
    assert deviations["items"][0]["minutes"] == 37
    assert deviations["items"][0]["evidence"]["bag_id"] == response.json["old_bag"]["id"]


def test_a_bag_change_needs_an_active_course(client, auth, factory, database):
    course = factory.course()

    response = change(client, auth("nurse"), course.id)

    assert response.status_code == 409
    assert "scheduled" in response.json["message"]
    assert count_rows(database, Bag) == 0


def test_a_change_time_in_the_future_is_refused(client, auth, factory, clock, database):
    course = factory.active_course()

    response = change(client, auth("nurse"), course.id,
                      changed_at=(clock.now() + timedelta(hours=1)).isoformat())

    assert response.status_code == 422
    assert "changed_at" in response.json["errors"]["json"]
    assert count_rows(database, Bag) == 1


def test_the_no_flush_confirmation_is_required(client, auth, factory):
    course = factory.active_course()

    response = client.post(f"/api/v1/courses/{course.id}/bag-changes", json={},
                           headers=auth("nurse"))

    assert response.status_code == 422
    assert "no_flush_confirmed" in response.json["errors"]["json"]


def test_the_schedule_answers_bag_due_time_left_and_bags_remaining(client, auth, factory, clock):
    course = factory.active_course(bag_interval_hours=96)
    clock.advance(hours=6)

    schedule = client.get(f"/api/v1/courses/{course.id}/schedule", headers=auth("viewer")).json

    assert schedule["hanging_bag"]["sequence"] == 1
    assert schedule["time_left_seconds"] == 90 * 3600
    # 28 days = 7 bags of 96 h: 6 still to hang after bag 1.
    assert schedule["bags_remaining"] == 6
    assert schedule["projected_end_at"] == (course.started_at + timedelta(days=28)).isoformat()


def test_an_alarm_opens_a_condition_until_the_pump_runs(client, auth, factory, clock):
    course = factory.active_course()
    headers = auth("nurse")
    schedule = f"/api/v1/courses/{course.id}/schedule"
    clock.advance(hours=1)

    alarm = report(client, headers, course.id, status="alarm", alarm_type="occlusion",
                   battery_pct=80)
    clock.advance(minutes=30)
    still = client.get(schedule, headers=headers).json
    report(client, headers, course.id, status="running")
    cleared = client.get(schedule, headers=headers).json

    assert alarm.status_code == 201, alarm.json
    assert still["unresolved_pump_alarm"]["id"] == alarm.json["id"]
    assert still["interrupted_now"] is True
    assert cleared["unresolved_pump_alarm"] is None
    assert cleared["interrupted_now"] is False
    assert cleared["interrupted_hours"] == 0.5


def test_a_low_battery_alarm_does_not_stop_the_clock(client, auth, factory, clock):
    course = factory.active_course()

    report(client, auth("nurse"), course.id, status="alarm", alarm_type="low_battery")
    schedule = client.get(f"/api/v1/courses/{course.id}/schedule", headers=auth("nurse")).json

    assert schedule["unresolved_pump_alarm"]["alarm_type"] == "low_battery"
    assert schedule["interrupted_now"] is False


def test_an_interruption_over_four_hours_is_one_deviation(client, auth, factory, clock):
    course = factory.active_course()
    headers = auth("nurse")

    report(client, headers, course.id, status="stopped")
    clock.advance(hours=4, minutes=10)
    report(client, headers, course.id, status="running")
    clock.advance(hours=1)
    report(client, headers, course.id, status="running")
    deviations = client.get("/api/v1/deviations?kind=infusion_interruption",
                            headers=headers).json

    assert deviations["total"] == 1
    assert deviations["items"][0]["minutes"] == 250


def test_a_short_interruption_is_no_deviation(client, auth, factory, clock, database):
    course = factory.active_course()
    report(client, auth("nurse"), course.id, status="paused")
    clock.advance(hours=3)
    report(client, auth("nurse"), course.id, status="running")

    assert count_rows(database, Deviation) == 0


def test_an_older_report_is_stored_flagged_and_changes_nothing(client, auth, factory, clock):
    course = factory.active_course()
    headers = auth("nurse")
    clock.advance(hours=2)
    report(client, headers, course.id, status="running")

    stale = report(client, headers, course.id, status="stopped",
                   reported_at=(clock.now() - timedelta(hours=1)).isoformat())
    schedule = client.get(f"/api/v1/courses/{course.id}/schedule", headers=headers).json

    assert stale.status_code == 201
    assert stale.json["flags"] == ["out_of_order"]
    assert schedule["interrupted_now"] is False
    assert schedule["last_pump_report"]["status"] == "running"


def test_the_same_idempotency_key_stores_one_report(client, auth, factory, database):
    course = factory.active_course()
    headers = auth("nurse")

    first = report(client, headers, course.id, status="running", idempotency_key="abc")
    second = report(client, headers, course.id, status="running", idempotency_key="abc")

    assert first.json["id"] == second.json["id"]
    assert count_rows(database, PumpReport) == 1


def test_bad_pump_reports_are_refused_and_store_nothing(client, auth, factory, clock, database):
    course = factory.active_course(bag_volume_ml=240)
    headers = auth("nurse")
    future = (clock.now() + timedelta(hours=1)).isoformat()
    cases = [
        (dict(status="running", volume_infused_ml=-1), 422, "volume_infused_ml"),
        (dict(status="running", volume_remaining_ml=500), 422, "volume_remaining_ml"),
        (dict(status="running", reported_at=future), 422, "reported_at"),
        (dict(status="alarm"), 422, "alarm_type"),
        (dict(status="exploded"), 422, "status"),
    ]
    for body, code, field in cases:
        response = report(client, headers, course.id, **body)
        assert response.status_code == code, body
        assert field in response.json["errors"]["json"], body
    assert report(client, headers, 999, status="running").status_code == 404
    assert count_rows(database, PumpReport) == 0


def test_reports_for_an_inactive_course_are_a_409(client, auth, factory):
    course = factory.course()

    response = report(client, auth("nurse"), course.id, status="running")

    assert response.status_code == 409
    assert "scheduled" in response.json["message"]


def test_a_rate_that_does_not_match_the_course_is_flagged(client, auth, factory):
    course = factory.active_course(bag_interval_hours=48)  # 5 mL/h

    response = report(client, auth("nurse"), course.id, status="running", rate_ml_per_hour=10)

    assert response.json["flags"] == ["rate_mismatch"]


def test_a_nurse_token_reports_as_its_nurse(client, factory, database):
    from opsbackend.domain.registry import tokens

    nurse = factory.nurse()
    course = factory.active_course()
    with database.transaction() as session:
        _record, raw = tokens.issue_token(session, name="rosa", role="nurse", nurse_id=nurse.id)

    response = report(client, {"Authorization": f"Bearer {raw}"}, course.id, status="running")

    assert response.json["reported_by_nurse_id"] == nurse.id


def test_a_keyed_pump_report_naming_no_nurse_is_refused_not_a_silent_201(client, auth, factory,
                                                                         database):
    """Found by the long fuzz: a foreign-key refusal was taken for a race on the key, and
    the answer was 201 with an empty body and nothing stored."""
    course = factory.active_course()

    response = report(client, auth("admin"), course.id, status="running",
                      reported_by_nurse_id=999_999, idempotency_key="fuzz-1")

    assert response.status_code in (409, 422)
    assert count_rows(database, PumpReport, PumpReport.course_id == course.id) == 0
