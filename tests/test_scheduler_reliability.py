"""Exactly once, with one scheduler or many; nothing lost when one dies."""

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jobs.definitions import JOBS
from jobs.leader import FileLeaderLock, PostgresLeaderLock, leader_lock_for
from jobs.runner import run_job
from jobs.scheduler import JobContext, Leadership, Runs
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.models import Alert, Deviation, OutboundMessage, SchedulerHeartbeat
from tests.factories import count_rows
from tests.phone import sms

BY_NAME = {job.name: job for job in JOBS}
SCAN_AND_SEND = ("missed_bag_changes", "escalation", "outbox_sender")


def tick(database, clock, context, names=SCAN_AND_SEND):
    for name in names:
        run_job(database, clock, BY_NAME[name], context)


@pytest.fixture
def context(twilio_provider):
    return JobContext(TimelineRules(), AlertRules(), twilio_provider)


@pytest.fixture
def late_bags(factory, clock):
    """Three 24 h courses whose visits a unit with a nurse has."""
    unit = factory.unit()
    factory.nurse(unit_id=unit.id, phone="+12135550131")
    courses = [factory.active_course(bag_interval_hours=24) for _ in range(3)]
    for course in courses:
        factory.assigned_visit(course, unit.id)
    return courses


def test_the_file_lock_lets_one_lead_and_the_standby_take_over(tmp_path):
    leader, standby = FileLeaderLock(tmp_path / "s.lock"), FileLeaderLock(tmp_path / "s.lock")

    assert leader.acquire() and leader.acquire()
    assert not standby.acquire()
    leader.release()  # the leader dies: the kernel drops its lock
    assert standby.acquire()


@pytest.mark.postgres_only
def test_the_advisory_lock_lets_one_lead_and_the_standby_take_over(database_url):
    leader, standby = PostgresLeaderLock(database_url), PostgresLeaderLock(database_url)
    try:
        assert leader.acquire()
        assert not standby.acquire()
        leader.release()  # its connection closes, as when the process dies
        # The server frees the lock once the old backend has exited, a moment after the
        # close (under load, after the standby's first try): the standby, trying at each
        # tick, takes over at one of its next.
        deadline = time.monotonic() + 10
        while not standby.acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert standby.acquire()
        assert not leader.acquire()  # and the old leader, back, stands by
    finally:
        leader.release()
        standby.release()


def test_the_lock_follows_the_database(database_url):
    lock = leader_lock_for(database_url)
    expected = PostgresLeaderLock if database_url.startswith("postgresql") else FileLeaderLock
    assert isinstance(lock, expected)
    lock.release()


def test_only_the_leader_beats_and_the_standby_takes_over_within_a_tick(database, clock,
                                                                        tmp_path):
    path = tmp_path / "leader.lock"
    first = Leadership(database, clock, FileLeaderLock(path))
    second = Leadership(database, clock, FileLeaderLock(path))

    assert first.tick() and not second.tick()
    first.lock.release()
    clock.advance(seconds=5)
    assert second.tick()

    with database.new_session() as session:
        beat = session.get(SchedulerHeartbeat, "scheduler")
    assert beat.heartbeat_at == clock.now()


class RecordingScheduler:
    def __init__(self):
        self.brought_forward = []

    def modify_job(self, job_id, **changes):
        self.brought_forward.append(job_id)


def test_a_job_woken_while_it_runs_runs_again_when_it_ends_not_skipped_by_apscheduler():
    scheduler = RecordingScheduler()
    runs = Runs(scheduler)
    passes = []

    def sender_pass():
        passes.append(1)
        if len(passes) == 1:  # two scan batches queue SMS while the first pass sends
            runs.wake("outbox_sender")
            runs.wake("outbox_sender")

    runs.run("outbox_sender", sender_pass)

    assert len(passes) == 2  # once more for both wakes, right after
    assert scheduler.brought_forward == []  # APScheduler would skip it, with a warning
    runs.wake("outbox_sender")  # not running: brought forward to now
    assert scheduler.brought_forward == ["outbox_sender"]


def test_a_job_that_fails_is_no_longer_counted_as_running():
    scheduler = RecordingScheduler()
    runs = Runs(scheduler)

    def failing():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        runs.run("outbox_sender", failing)
    runs.wake("outbox_sender")

    assert scheduler.brought_forward == ["outbox_sender"]


@pytest.mark.postgres_only
def test_two_schedulers_at_once_raise_and_send_each_thing_once(database, clock, context,
                                                               late_bags, fake_twilio):
    clock.advance(hours=24, minutes=15)
    errors = []

    def scheduler():
        try:
            for _ in range(6):
                tick(database, clock, context)
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    for _ in range(3):  # three ticks of time, two schedulers racing in each
        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        clock.advance(minutes=10)

    assert errors == []
    assert count_rows(database, Alert) == 3
    with database.new_session() as session:
        keys = session.scalars(select(OutboundMessage.dedupe_key)).all()
        statuses = set(session.scalars(select(OutboundMessage.status)))
        sids = session.scalars(select(OutboundMessage.provider_sid)).all()
    assert len(keys) == len(set(keys))  # each (alert, rung, phone) queued once
    assert statuses == {"sent"}
    # Twilio got exactly one request per outbox row, and each row holds its own SID.
    assert sorted(m["sid"] for m in fake_twilio.messages) == sorted(sids)


def test_killed_after_alerts_are_written_nothing_is_lost(database, clock, context, late_bags,
                                                         fake_twilio):
    clock.advance(hours=24, minutes=15)

    tick(database, clock, context, ["missed_bag_changes"])  # then the process dies
    assert count_rows(database, OutboundMessage, OutboundMessage.status == "queued") == 6
    tick(database, clock, context)  # a new process: the alerts stand, the sender sends

    assert count_rows(database, Alert) == 3
    assert len(fake_twilio.messages) == 6


def test_killed_before_the_scan_commits_nothing_half_written(database, clock, context,
                                                             late_bags, monkeypatch):
    from opsbackend.domain.alerting import alerts

    clock.advance(hours=24, minutes=15)
    real = alerts.rung_messages
    calls = []

    def die_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("killed mid-tick")
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts, "rung_messages", die_on_second)
    with pytest.raises(SystemExit):
        BY_NAME["missed_bag_changes"].run(database, clock, context)
    assert count_rows(database, Alert) == 0 and count_rows(database, OutboundMessage) == 0
    monkeypatch.setattr(alerts, "rung_messages", real)

    tick(database, clock, context, ["missed_bag_changes"])
    assert count_rows(database, Alert) == 3


def test_a_long_provider_outage_loses_nothing_and_keeps_order(database, clock, context,
                                                              late_bags, fake_twilio):
    clock.advance(hours=24, minutes=15)
    fake_twilio.fail_next("500", times=30)

    for _ in range(12):  # two hours of ticks while Twilio answers 500
        tick(database, clock, context)
        clock.advance(minutes=10)
    assert count_rows(database, Alert) == 3
    fake_twilio.failures.clear()
    for _ in range(12):
        tick(database, clock, context, ["outbox_sender"])
        clock.advance(minutes=31)

    with database.new_session() as session:
        queued_order = session.execute(select(OutboundMessage.to_phone, OutboundMessage.body)
                                       .order_by(OutboundMessage.id)).all()
        unsent = session.scalar(select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.status != "sent"))
    assert unsent == 0
    # Each phone got each alert's messages in the order they were written.
    assert per_thread((m["to"], m["body"]) for m in fake_twilio.messages) == per_thread(
        queued_order)


def test_a_28_day_course_changed_on_time_raises_nothing(database, clock, context, factory,
                                                        client):
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=96,
                                   started_at=clock.now())
    everything = [job.name for job in JOBS]

    for _bag in range(6):  # the 7th bag runs to the end of the 28 days
        due = _hanging_due(database, course)
        while clock.now() < due - timedelta(hours=6):
            tick(database, clock, context, everything)
            clock.advance(hours=6)
        _assign_open_visits(database, course, unit)  # the dispatcher plans the visit
        clock.set(due - timedelta(minutes=90))  # the nurse is there well before due
        sms(client, nurse.phone, "ARRIVED")
        tick(database, clock, context, everything)
        clock.set(due)  # on time: inside the window, and no drift for the bags after it
        sms(client, nurse.phone, "CHANGED NOFLUSH")
        sms(client, nurse.phone, "DONE")
    end = course.started_at + timedelta(days=28)
    while clock.now() < end - timedelta(hours=6):
        tick(database, clock, context, everything)
        clock.advance(hours=6)
    _assign_open_visits(database, course, unit)  # the disconnect visit
    clock.set(end + timedelta(minutes=10))
    tick(database, clock, context, everything)  # the course completes
    sms(client, nurse.phone, "ARRIVED")
    sms(client, nurse.phone, "DONE")
    clock.advance(hours=6)
    tick(database, clock, context, everything)

    with database.new_session() as session:
        kinds = session.scalars(select(Alert.kind)).all()
        done = session.get(type(course), course.id)
    assert [k for k in kinds if k != "unassigned_visit"] == []
    with database.new_session() as session:
        assert [(d.kind, d.evidence) for d in session.scalars(select(Deviation))] == []
    assert done.status == "completed"


def test_one_late_change_raises_exactly_the_expected_alerts(database, clock, context, factory,
                                                            client, fake_twilio):
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24,
                                   started_at=clock.now())
    factory.assigned_visit(course, unit.id)
    everything = [job.name for job in JOBS]

    clock.advance(hours=23, minutes=30)
    tick(database, clock, context, everything)  # on time so far: nothing
    clock.advance(minutes=45)  # due + 15 min: missed
    tick(database, clock, context, everything)
    clock.advance(minutes=10)
    tick(database, clock, context, everything)  # rung 1: the dispatcher again
    clock.advance(minutes=5)
    sms(client, nurse.phone, "CHANGED NOFLUSH")
    tick(database, clock, context, everything)

    with database.new_session() as session:
        raised = session.scalars(select(Alert).order_by(Alert.id)).all()
        rung_1 = session.scalars(select(OutboundMessage).where(
            OutboundMessage.dedupe_key.like("alert:3:step:1:%"))).one()
        deviations = session.scalars(select(Deviation)).all()
    # Due within the hour and nobody on site: at risk first, then missed, then changed.
    # The unit had not called in 15 minutes into the window either: late, until the change.
    assert [(a.kind, a.status, a.escalation_step) for a in raised] == [
        ("at_risk", "resolved", 0), ("late_unit", "resolved", 2),
        ("missed_bag_change", "resolved", 1)]
    assert "superseded" in raised[0].resolution
    assert raised[2].resolution.startswith("bag 1 changed")
    assert sorted((d.kind, d.minutes) for d in deviations) == [
        ("late_bag_change", 30), ("missed_visit", None)]
    recipients = per_thread((m["to"], m["body"].split(":")[0]) for m in fake_twilio.messages)
    dispatch = "+13105550101"
    assert recipients == per_thread([
        (nurse.phone, "AT RISK A1"), (dispatch, "AT RISK A1"),  # 23:30, rung 0
        (nurse.phone, "LATE A2"), (dispatch, "LATE A2"),  # 23:30, rung 0
        (nurse.phone, "ALERT A3"), (dispatch, "ALERT A3"),  # 24:15 missed, rung 0
        (dispatch, "LATE A2"),  # 24:15, the late unit's rung 1
        ("+13105550100", "LATE A2"),  # 24:25, its rung 2: the on-call phone
    ])
    # Rung 1 was queued at 24:25; the bag was changed before it went out.
    assert (rung_1.status, rung_1.suppressed_reason) == ("suppressed", "alert_closed")


def per_thread(messages) -> dict[tuple, list[str]]:
    """(phone, text) pairs as the texts of each thread (a phone and the alert code the
    text names), in order: the outbox keeps a thread's order and sends threads side by
    side."""
    found: dict[tuple, list[str]] = {}
    for phone, text in messages:
        code = re.search(r"\bA\d+\b", text)
        found.setdefault((phone, code and code.group()), []).append(text)
    return found


def _assign_open_visits(database, course, unit):
    from opsbackend.models import Visit

    with database.transaction() as session:
        for visit in session.scalars(select(Visit).where(Visit.course_id == course.id,
                                                         Visit.status == "unassigned")):
            visit.unit_id, visit.status = unit.id, "assigned"


def _hanging_due(database, course):
    from opsbackend.domain.infusion.course_lifecycle import hanging_bag

    with database.new_session() as session:
        return hanging_bag(session, session.get(type(course), course.id)).due_at
