"""/metrics: who may read it, and that it shows what happened (deltas: the counters
live for the whole test process)."""

import dataclasses
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobs.definitions import JOBS
from jobs.leader import FileLeaderLock
from jobs.runner import run_job
from jobs.scheduler import JobContext, Leadership
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.sms.metered import MeteredSmsProvider

SCRAPE_TOKEN = "scrape-token-for-tests-0123456789abcdef"
BY_NAME = {job.name: job for job in JOBS}


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, metrics_token=SCRAPE_TOKEN)


@pytest.fixture
def scrape(client):
    def read(name: str, **labels) -> float:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    return sample.value
        return 0.0

    return read


def test_only_the_scrape_token_and_staff_tokens_may_read_metrics(client, auth):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers=auth("viewer")).status_code == 403
    for headers in (auth("dispatcher"), auth("nurse"),
                    {"Authorization": f"Bearer {SCRAPE_TOKEN}"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain")


def test_requests_are_timed_by_route_and_status(client, auth, scrape):
    name = "opsbackend_http_request_duration_seconds_count"
    route = "/api/v1/patients/<int:patient_id>"
    before = scrape(name, route=route, status="404", method="GET")

    for patient_id in (101, 102, 103):  # three ids, one series
        assert client.get(f"/api/v1/patients/{patient_id}",
                          headers=auth("dispatcher")).status_code == 404

    assert scrape(name, route=route, status="404", method="GET") == before + 3


def test_a_burst_shows_alerts_by_kind_first_sms_delays_and_outbox_depth(
        database, clock, factory, fake_twilio, twilio_provider, scrape):
    context = JobContext(TimelineRules(), AlertRules(), MeteredSmsProvider(twilio_provider))
    unit = factory.unit()
    factory.nurse(unit_id=unit.id, phone="+12135550131")
    for _ in range(3):
        factory.assigned_visit(factory.active_course(bag_interval_hours=24), unit.id)
    raised_before = scrape("opsbackend_alerts_raised_total", kind="missed_bag_change")
    bucket = "opsbackend_alert_first_sms_seconds_bucket"
    within_5s, within_10s = (scrape(bucket, kind="missed_bag_change", le=le)
                             for le in ("5.0", "10.0"))
    clock.advance(hours=24, minutes=15)  # every bag's grace expires now

    run_job(database, clock, BY_NAME["missed_bag_changes"], context)
    assert scrape("opsbackend_alerts_raised_total", kind="missed_bag_change") == raised_before + 3
    assert scrape("opsbackend_outbox_messages", status="queued") == 6  # nurse and dispatch
    clock.advance(seconds=7)
    assert scrape("opsbackend_outbox_oldest_queued_age_seconds") == 7
    run_job(database, clock, BY_NAME["outbox_sender"], context)

    assert scrape("opsbackend_outbox_messages", status="queued") == 0
    # One first SMS per alert (not one per recipient), each 7 s after its condition.
    assert scrape(bucket, kind="missed_bag_change", le="5.0") == within_5s
    assert scrape(bucket, kind="missed_bag_change", le="10.0") == within_10s + 3
    assert scrape("opsbackend_alerts_open", kind="missed_bag_change") == 3


def test_sms_failures_are_counted_by_the_providers_error_code(fake_twilio, twilio_provider,
                                                              scrape):
    from opsbackend.sms.provider import PermanentSmsError

    provider = MeteredSmsProvider(twilio_provider)
    before = scrape("opsbackend_sms_failures_total", code="21211")
    fake_twilio.fail_next("21211")

    with pytest.raises(PermanentSmsError):
        provider.send("+15005550001", "hello", None)

    assert scrape("opsbackend_sms_failures_total", code="21211") == before + 1


def test_jobs_and_the_leader_show_stale_after_three_quiet_intervals(
        client, auth, database, clock, tmp_path, scrape):
    context = JobContext(TimelineRules(), AlertRules(), None)
    assert math.isnan(scrape("opsbackend_scheduler_heartbeat_age_seconds"))
    assert client.get("/api/v1/jobs", headers=auth("dispatcher")).json["status"] == "no_leader"
    changes_before = scrape("opsbackend_scheduler_leader_changes_total")

    leadership = Leadership(database, clock, FileLeaderLock(tmp_path / "lock"))
    assert leadership.tick()
    run_job(database, clock, BY_NAME["escalation"], context)  # every 15 s
    clock.advance(seconds=15)

    jobs = client.get("/api/v1/jobs", headers=auth("dispatcher")).json
    assert jobs["status"] == "ok" and jobs["leader"]["stale"] is False
    assert jobs["jobs"][0] | {"stale": False, "interval_seconds": 15.0} == jobs["jobs"][0]
    assert scrape("opsbackend_scheduler_leader_changes_total") == changes_before + 1
    assert scrape("opsbackend_scheduler_leader_stale") == 0

    clock.advance(seconds=31)  # 46 s: more than 3 leadership ticks and 3 escalation runs
    jobs = client.get("/api/v1/jobs", headers=auth("dispatcher")).json
    assert jobs["status"] == "stale" and jobs["leader"]["seconds_since_heartbeat"] == 46
    assert jobs["jobs"][0]["stale"] is True
    assert scrape("opsbackend_scheduler_leader_stale") == 1
    assert scrape("opsbackend_job_stale", job="escalation") == 1
    leadership.lock.release()
