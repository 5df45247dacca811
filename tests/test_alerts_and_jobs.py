"""The scheduled jobs, driven by the test's clock (no sleeps)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.definitions import JOBS
from jobs.runner import run_job
from jobs.scheduler import JobContext
from opsbackend.domain.infusion import course_lifecycle
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.models import Alert, Deviation, JobRun, OutboundMessage
from opsbackend.sms.console_provider import ConsoleSmsProvider
from tests.factories import count_rows
from tests.phone import reply_text, sms

BY_NAME = {job.name: job for job in JOBS}
DISPATCH = "+13105550101"  # the factory site's dispatch desk
ON_CALL = "+13105550100"


@pytest.fixture
def context():
    return JobContext(TimelineRules(), AlertRules(), ConsoleSmsProvider())


def run(database, clock, context, *names):
    for name in names or [job.name for job in JOBS]:
        run_job(database, clock, BY_NAME[name], context)


@pytest.fixture
def overdue(factory, clock):
    """A 24 h course whose first bag-change visit is assigned to a unit with one nurse."""
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    return nurse, course, visit


def messages(database, **where):
    with database.new_session() as session:
        stmt = select(OutboundMessage).order_by(OutboundMessage.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboundMessage, name) == value)
        return session.scalars(stmt).all()


def alerts(database, kind=None):
    with database.new_session() as session:
        stmt = select(Alert).order_by(Alert.id)
        if kind:
            stmt = stmt.where(Alert.kind == kind)
        return session.scalars(stmt).all()


def test_a_missed_bag_change_alerts_the_nurse_and_the_dispatcher_once(database, clock,
                                                                       context, overdue):
    nurse, _course, _visit = overdue
    clock.advance(hours=24, minutes=14)
    run(database, clock, context, "missed_bag_changes")
    assert alerts(database, "missed_bag_change") == []

    clock.advance(minutes=1)
    run(database, clock, context, "missed_bag_changes")
    run(database, clock, context, "missed_bag_changes")

    [alert] = alerts(database, "missed_bag_change")
    sent_to = sorted(m.to_phone for m in messages(database, alert_id=alert.id))
    assert sent_to == sorted([nurse.phone, DISPATCH])
    body = messages(database, alert_id=alert.id)[0].body
    assert f"A{alert.id}" in body and "MISSED" in body and "blinatumomab" not in body


def test_a_missed_bag_alert_says_when_it_was_due_in_the_sites_own_time(database, clock,
                                                                       context, overdue):
    _nurse, course, _visit = overdue
    clock.advance(hours=24, minutes=15)

    run(database, clock, context, "missed_bag_changes")

    [alert] = alerts(database, "missed_bag_change")
    # T0 + 24 h is Tue Mar 3 15:00 UTC: 07:00 in Los Angeles, the factory site's zone.
    assert alert.summary.endswith("(due Tue Mar 3 07:00 PST)"), alert.summary


def test_a_bag_about_to_be_missed_is_at_risk_first(database, clock, context, factory):
    course = factory.active_course(bag_interval_hours=24)  # its visit has no unit
    clock.advance(hours=23, minutes=5)

    run(database, clock, context, "missed_bag_changes")
    clock.advance(hours=1, minutes=15)
    run(database, clock, context, "missed_bag_changes")

    [at_risk] = alerts(database, "at_risk")
    [missed] = alerts(database, "missed_bag_change")
    assert at_risk.status == "resolved" and "superseded" in at_risk.resolution
    assert missed.course_id == course.id and missed.status == "open"


def test_the_ladder_climbs_until_someone_acknowledges_by_sms(client, database, clock, context,
                                                             overdue):
    nurse, _course, _visit = overdue
    clock.advance(hours=24, minutes=15)
    run(database, clock, context, "missed_bag_changes")
    [alert] = alerts(database)

    clock.advance(minutes=10)
    run(database, clock, context, "escalation")
    clock.advance(minutes=10)
    run(database, clock, context, "escalation")
    ack = sms(client, DISPATCH, "ACK")
    clock.advance(minutes=29)  # inside the default 30-minute acknowledgement pause
    run(database, clock, context, "escalation")

    steps = [(m.to_phone, m.dedupe_key.split(":")[3]) for m in messages(database,
                                                                         alert_id=alert.id)]
    assert steps == [(nurse.phone, "0"), (DISPATCH, "0"), (DISPATCH, "1"), (ON_CALL, "2")]
    assert f"A{alert.id} acknowledged" in reply_text(ack)
    [acknowledged] = alerts(database)
    assert acknowledged.status == "acknowledged"
    assert acknowledged.acknowledged_by == f"phone:{DISPATCH} via sms"


def test_the_last_rung_repeats_until_someone_acts(database, clock, context, overdue):
    clock.advance(hours=24, minutes=15)
    run(database, clock, context, "missed_bag_changes")
    for _ in range(4):
        clock.advance(minutes=10)
        run(database, clock, context, "escalation")

    [alert] = alerts(database)
    assert alert.escalation_step == 4
    assert [m.to_phone for m in messages(database, alert_id=alert.id)][-2:] == [ON_CALL, ON_CALL]


def test_a_site_ladder_is_configuration(client, auth, database, clock, context, factory,
                                        overdue):
    _nurse, course, _visit = overdue
    site_id = _site_id(database, course)
    response = client.put("/api/v1/escalation-ladders", json={
        "site_id": site_id, "alert_kind": "missed_bag_change",
        "steps": [{"after_minutes": 0, "targets": ["on_call"]},
                  {"after_minutes": 5, "targets": ["dispatcher", "nurse"]}]},
        headers=auth("admin"))
    clock.advance(hours=24, minutes=15)

    run(database, clock, context, "missed_bag_changes")

    assert response.status_code == 200, response.json
    [alert] = alerts(database)
    assert [m.to_phone for m in messages(database, alert_id=alert.id)] == [ON_CALL]
    assert alert.next_escalation_at == clock.now() + timedelta(minutes=5)


def test_acknowledge_and_resolve_through_the_api(client, auth, database, clock, context,
                                                 overdue):
    clock.advance(hours=24, minutes=15)
    run(database, clock, context, "missed_bag_changes")
    [alert] = alerts(database)

    acked = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=auth("nurse"))
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, alert.course_id, reason="fever")
    resolved = client.post(f"/api/v1/alerts/{alert.id}/resolve",
                           json={"reason": "course_paused", "note": "held for fever"},
                           headers=auth("dispatcher"))
    again = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"reason": "changed"},
                        headers=auth("dispatcher"))
    listed = client.get("/api/v1/alerts?status=resolved", headers=auth("viewer")).json

    assert acked.json["status"] == "acknowledged"
    assert acked.json["next_escalation_at"] == (clock.now() + timedelta(minutes=30)).isoformat()
    assert resolved.json["status"] == "resolved"
    assert resolved.json["resolution_reason"] == "course_paused"
    assert resolved.json["resolution"] == "held for fever"
    assert again.status_code == 409
    assert [a["ref"] for a in listed["items"]] == [f"A{alert.id}"]


def test_changing_the_bag_resolves_the_alert_with_the_reason(client, database, clock, context,
                                                             overdue):
    nurse, _course, _visit = overdue
    clock.advance(hours=24, minutes=20)
    run(database, clock, context, "missed_bag_changes")

    sms(client, nurse.phone, "CHANGED NOFLUSH")

    [alert] = alerts(database)
    assert alert.status == "resolved" and alert.resolution.startswith("bag 1 changed")
    assert count_rows(database, Deviation, Deviation.kind == "late_bag_change") == 1


def test_an_unresolved_pump_alarm_alerts_and_running_resolves_it(client, database, clock,
                                                                  context, overdue):
    nurse, _course, _visit = overdue
    clock.advance(hours=2)
    sms(client, nurse.phone, f"PUMP V{_visit.id} ALARM OCCLUSION")
    clock.advance(minutes=29)
    run(database, clock, context, "pump_alarms")
    assert alerts(database) == []

    clock.advance(minutes=2)
    run(database, clock, context, "pump_alarms")
    [alert] = alerts(database, "pump_alarm_unresolved")
    assert "occlusion" in messages(database, alert_id=alert.id)[0].body

    sms(client, nurse.phone, f"PUMP V{_visit.id} RUNNING")
    assert alerts(database)[0].status == "resolved"


def test_an_unassigned_visit_due_soon_alerts_the_dispatcher(database, clock, context, factory):
    factory.active_course(bag_interval_hours=24)
    clock.advance(hours=11)

    run(database, clock, context, "unassigned_visits")
    run(database, clock, context, "unassigned_visits")

    [alert] = alerts(database, "unassigned_visit")
    assert [m.to_phone for m in messages(database, alert_id=alert.id)] == [DISPATCH]


def test_a_busy_start_of_unassigned_visits_is_raised_in_committed_batches_each_waking_the_sender(
        database, clock, context, factory, monkeypatch):
    from opsbackend.domain.alerting import alert_scans

    monkeypatch.setattr(alert_scans, "BAG_BATCH", 2)
    woken = []
    context.wake_sender = lambda: woken.append(1)
    for _ in range(5):
        factory.active_course(bag_interval_hours=24)
    clock.advance(hours=11)

    first = BY_NAME["unassigned_visits"].run(database, clock, context)
    again = BY_NAME["unassigned_visits"].run(database, clock, context)

    assert first.alerts_raised == 5 and len(alerts(database, "unassigned_visit")) == 5
    assert len(woken) == 3  # batches of 2, 2 and 1
    assert again.examined == 0 and again.alerts_raised == 0  # alerted visits are not re-read


def test_family_reminders_wait_for_morning_and_skip_opted_out(database, clock, context,
                                                              factory):
    from datetime import UTC, datetime

    clock.set(datetime(2026, 3, 3, 2, 30, tzinfo=UTC))  # Mon 18:30 in Los Angeles
    patient = factory.patient(first_name="Mateo")
    opted_out = factory.patient()
    with database.transaction() as session:
        from opsbackend.domain.messaging import outbox

        outbox.set_opt_out(session, clock, opted_out.contacts[0].phone, True)
    for someone in (patient, opted_out):
        # Bag 1 due Tue 09:00 local: its visit window opens 07:00.
        factory.active_course(patient_id=someone.id, bag_interval_hours=24,
                              started_at=datetime(2026, 3, 2, 17, 0, tzinfo=UTC))

    run(database, clock, context, "family_reminders")
    run(database, clock, context, "family_reminders")

    reminders = messages(database, to_phone=patient.contacts[0].phone)
    assert [m.template for m in reminders] == ["reminder.day_before"]
    assert "Mateo" in reminders[0].body and "07:00" in reminders[0].body
    assert messages(database, to_phone=opted_out.contacts[0].phone) == []


def test_family_reminders_read_as_much_for_many_visits_as_for_one(
        database, clock, factory):
    """The job runs every minute over a day and a half of visits: no query per visit."""
    from datetime import UTC, datetime

    from opsbackend.domain.messaging import reminders
    from tests.statements import counted_statements

    clock.set(datetime(2026, 3, 3, 2, 30, tzinfo=UTC))  # Mon 18:30 in Los Angeles

    def statements_for_new_patients(count: int) -> tuple[int, int]:
        for _ in range(count):
            factory.active_course(patient_id=factory.patient().id, bag_interval_hours=24,
                                  started_at=datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
        with counted_statements(database.engine) as seen, database.transaction() as session:
            _examined, queued = reminders.queue_due_reminders(session, clock)
        # Reads: the ORM inserts rows one statement each on SQLite (one on PostgreSQL).
        return sum(statement.lstrip().startswith("SELECT") for statement in seen), queued

    one = statements_for_new_patients(1)
    many = statements_for_new_patients(8)

    assert one[1] == 1 and many[1] == 8  # each new patient's day-before reminder, once
    assert many[0] == one[0]


def test_family_reminders_queued_before_are_not_written_again(
        database, clock, factory, monkeypatch):
    """The job offers the day-before reminder every minute from 18:00 to midnight: only
    the first run writes its body (three dates in the contact's language)."""
    from datetime import UTC, datetime

    from opsbackend.domain.messaging import reminders, templates

    clock.set(datetime(2026, 3, 3, 2, 30, tzinfo=UTC))  # Mon 18:30 in Los Angeles
    factory.active_course(patient_id=factory.patient().id, bag_interval_hours=24,
                          started_at=datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    written = []
    render = templates.render
    monkeypatch.setattr(templates, "render",
                        lambda name, *args, **kw: written.append(name) or render(name, *args, **kw))

    def queued_now() -> int:
        clock.advance(minutes=1)
        with database.transaction() as session:
            return reminders.queue_due_reminders(session, clock)[1]

    assert [queued_now(), queued_now(), queued_now()] == [1, 0, 0]
    assert written == ["reminder.day_before"]


def test_each_run_is_recorded_and_shown(client, auth, database, clock, context, overdue):
    clock.advance(hours=24, minutes=15)

    run(database, clock, context, "missed_bag_changes")
    run(database, clock, context)
    body = client.get("/api/v1/jobs", headers=auth("dispatcher")).json

    by_job = {j["job"]: j for j in body["jobs"]}
    assert set(by_job) == set(BY_NAME)
    assert by_job["outbox_sender"]["examined"] == 2
    assert by_job["missed_bag_changes"]["examined"] == 0  # its bag has its alert already
    assert all(j["outcome"] == "ok" and j["duration_ms"] >= 0 for j in body["jobs"])
    with database.new_session() as session:
        first = session.scalars(select(JobRun).order_by(JobRun.id)).first()
    assert (first.job, first.alerts_raised, first.messages_queued) == (
        "missed_bag_changes", 1, 2)
    assert count_rows(database, JobRun) == len(JOBS) + 1


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(database, clock, context,
                                                                monkeypatch):
    from jobs import definitions

    def explode(*_args):
        raise RuntimeError("database went away")

    broken = definitions.Job("missed_bag_changes", 15, explode)

    run_job(database, clock, broken, context)
    run(database, clock, context, "escalation")

    with database.new_session() as session:
        runs = {r.job: r for r in session.scalars(select(JobRun))}
    assert runs["missed_bag_changes"].outcome == "error"
    assert "database went away" in runs["missed_bag_changes"].error
    assert runs["escalation"].outcome == "ok"


def _site_id(database, course):
    from opsbackend.models import Patient

    with database.new_session() as session:
        return session.get(Patient, course.patient_id).site_id


def test_the_demo_has_an_overdue_bag_that_alerts_on_the_first_tick(app, client, database,
                                                                  clock, context):
    from opsbackend.cli import main

    app.test_cli_runner().invoke(main, ["seed-demo"], catch_exceptions=False)

    run(database, clock, context, "missed_bag_changes", "outbox_sender")
    arrived = sms(client, "+12135550131", "ARRIVED")  # nurse Rosa, WEST-1

    [alert] = alerts(database, "missed_bag_change")
    sent_to = sorted(m.to_phone for m in messages(database, alert_id=alert.id))
    assert sent_to == ["+12155550101", "+12155550134", "+12155550135"]  # desk, EAST-1 crew
    assert reply_text(arrived).startswith("Registrado: llegada a W-001")  # Rosa: Spanish


def test_a_job_run_with_nothing_to_do_logs_at_debug_and_one_that_acted_at_info(
        database, clock, context, factory, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="opsbackend.jobs")
    run(database, clock, context, "unassigned_visits")  # nothing to do yet
    factory.active_course(bag_interval_hours=24)
    clock.advance(hours=11)
    run(database, clock, context, "unassigned_visits")

    assert [r.levelname for r in caplog.records if r.getMessage() == "job run"] == [
        "DEBUG", "INFO"]
