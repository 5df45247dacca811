"""Things going wrong, at small scale: PostgreSQL connections killed mid-request and
mid-tick, the SMS provider failing or hanging for a stretch, the leading scheduler
killed. Each test asserts that nothing was lost and nothing doubled."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from jobs.definitions import JOBS
from jobs.runner import run_job
from jobs.scheduler import JobContext
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.models import (
    Alert,
    CheckIn,
    Contact,
    InboundMessage,
    JobRun,
    OutboundMessage,
    Patient,
    SchedulerHeartbeat,
)
from tests.databases import postgres_admin_url
from tests.factories import count_rows
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.phone import sms

pytestmark = pytest.mark.postgres_only
BY_NAME = {job.name: job for job in JOBS}
BIN = Path(sys.executable).parent


def kill_app_connections(database_url: str) -> int:
    """pg_terminate_backend on every connection to the app's database (from the server's
    maintenance database, which may connect while the app's refuses connections)."""
    engine = create_engine(postgres_admin_url(), poolclass=NullPool)
    with engine.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :name"), {"name": make_url(database_url).database}).scalar()
    engine.dispose()
    return killed


@pytest.fixture
def killing(database_url, monkeypatch):
    """``killing(module, "function")``: the app's connections die inside that call,
    once, after it has done its work and before the transaction commits."""
    def install(module, name):
        real = getattr(module, name)
        calls = []

        def then_die(*args, **kwargs):
            result = real(*args, **kwargs)
            if not calls:
                calls.append(1)
                assert kill_app_connections(database_url) >= 1
            return result

        monkeypatch.setattr(module, name, then_die)
        return calls

    return install


@pytest.fixture
def context(twilio_provider):
    return JobContext(TimelineRules(), AlertRules(), twilio_provider)


@pytest.fixture
def crew(factory):
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    courses = [factory.active_course(patient_id=factory.patient(site_id=unit.site_id).id,
                                     bag_interval_hours=24) for _ in range(3)]
    visits = [factory.assigned_visit(course, unit.id) for course in courses]
    return nurse, visits


def test_an_api_write_killed_mid_transaction_is_a_503_and_its_retry_writes_once(
        client, auth, factory, killing):
    from opsbackend.api import patients as patients_api

    site = factory.site()
    headers = auth("dispatcher")
    body = {"site_id": site.id, "study_code": "K-1", "date_of_birth": "2020-02-03",
            "weight_kg": 17.2, "contacts": [{"name": "Lucia", "relationship": "mother",
                          "phone": "+12135550144"}]}
    killing(patients_api.patients, "create_patient")  # the patient and contact are flushed

    first = client.post("/api/v1/patients", json=body, headers=headers)
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert first.json["code"] == 503
    assert count_rows(client.application.extensions["database"], Patient) == 0

    retry = client.post("/api/v1/patients", json=body, headers=headers)  # no restart
    assert retry.status_code == 201
    database = client.application.extensions["database"]
    assert count_rows(database, Patient) == 1 and count_rows(database, Contact) == 1


def test_an_sms_check_in_killed_mid_request_is_never_half_written(
        client, database, crew, killing):
    from opsbackend.domain.phone import sms_conversation

    nurse, visits = crew
    killing(sms_conversation, "_check_in")  # the check-in's rows are flushed, then...

    first = sms(client, nurse.phone, f"ARRIVED V{visits[0].id}", sid="SM" + "1" * 32)
    assert first.status_code == 503  # at the commit: the message and the check-in went
    assert count_rows(database, CheckIn) == 0 and count_rows(database, InboundMessage) == 0

    retry = sms(client, nurse.phone, f"ARRIVED V{visits[0].id}", sid="SM" + "1" * 32)
    assert "Recorded: arrived" in retry.get_data(as_text=True)
    assert count_rows(database, CheckIn) == 1 and count_rows(database, InboundMessage) == 1


def test_a_tick_killed_mid_transaction_raises_everything_once_on_the_next(
        database, clock, context, crew, killing, fake_twilio):
    from opsbackend.domain.messaging import outbox

    clock.advance(hours=24, minutes=15)
    killing(outbox, "queue_messages")  # alerts and their SMS flushed, not committed

    run_job(database, clock, BY_NAME["missed_bag_changes"], context)
    assert count_rows(database, Alert) == 0 and count_rows(database, OutboundMessage) == 0
    assert count_rows(database, JobRun, JobRun.outcome == "error") == 1
    clock.advance(seconds=5)
    for name in ("missed_bag_changes", "outbox_sender"):  # the same process, no restart
        run_job(database, clock, BY_NAME[name], context)

    assert count_rows(database, Alert) == 3
    # Each alert to the nurse and the dispatch desk, each exactly once.
    sent = [(m["to"], m["body"]) for m in fake_twilio.messages]
    assert len(sent) == 6 and len(set(sent)) == 6


@pytest.mark.parametrize("failure", ["500", "timeout", "accept_then_timeout"])
def test_a_failing_or_hanging_provider_gets_every_message_later_once(
        database, clock, context, crew, fake_twilio, failure):
    clock.advance(hours=24, minutes=15)
    run_job(database, clock, BY_NAME["missed_bag_changes"], context)
    fake_twilio.hang_seconds = 1.5  # the provider's timeout is 1 s
    fake_twilio.fail_next(failure, times=2)

    for _ in range(8):  # a stretch of failures, then the provider is back
        run_job(database, clock, BY_NAME["outbox_sender"], context)
        clock.advance(minutes=3)  # past the backoff, and the reaper's 2 minutes

    with database.new_session() as session:
        statuses = session.scalars(select(OutboundMessage.status)).all()
        bodies = session.scalars(select(OutboundMessage.body)).all()
    assert statuses == ["sent"] * 6
    assert sorted(m["body"] for m in fake_twilio.messages) == sorted(bodies)  # once each


def test_readyz_fails_while_the_database_refuses_connections_and_recovers(
        client, database_url):
    name = make_url(database_url).database
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    assert client.get("/readyz").status_code == 200
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        kill_app_connections(database_url)
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json["database"] == "unreachable"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    assert client.get("/readyz").status_code == 200  # the same app, no restart


@contextmanager
def scheduler_processes(database_url, fake_twilio, count=2):
    """``count`` ``opsbackend scheduler`` processes, started together."""
    env = os.environ | {
        "DATABASE_URL": database_url, "SMS_PROVIDER": "twilio", "LOG_LEVEL": "WARNING",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+13105550199", "TWILIO_API_BASE_URL": fake_twilio.url,
    }
    processes = [subprocess.Popen([str(BIN / "opsbackend"), "scheduler"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(count)]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "scheduler starting"
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def current_leader(database) -> str | None:
    with database.new_session() as session:
        beat = session.get(SchedulerHeartbeat, "scheduler")
        return beat.leader if beat else None


def wait_for(condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_standby_leads_within_10_s_of_the_leader_dying_and_raises_what_was_due(
        database, database_url, factory, fake_twilio):
    """Real processes on the real clock. The work is created once the leader is dead:
    bags due at the test clock's T0 + 24 h, long before now, so due while nobody leads."""
    with scheduler_processes(database_url, fake_twilio) as processes:
        assert wait_for(lambda: current_leader(database) is not None, 15)
        time.sleep(1)  # the other tried the lock and stands by
        by_pid = {f":{process.pid}": process for process in processes}
        first = next(p for suffix, p in by_pid.items() if current_leader(database).endswith(suffix))
        [standby] = [process for process in processes if process is not first]
        first.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        unit = factory.unit()
        factory.nurse(unit_id=unit.id, phone="+12135550131")
        for _ in range(3):
            factory.assigned_visit(factory.active_course(bag_interval_hours=24), unit.id)

        assert wait_for(lambda: current_leader(database).endswith(f":{standby.pid}"), 10)
        assert time.monotonic() - killed_at <= 10
        assert wait_for(lambda: len(fake_twilio.messages) >= 6, 15)
        time.sleep(1)  # anything doubled would show by now
    assert count_rows(database, Alert, Alert.kind == "missed_bag_change") == 3
    sent = [(m["to"], m["body"]) for m in fake_twilio.messages]
    assert len(sent) == len(set(sent)) == 6  # the nurse and the dispatch desk, once each
