"""Alerts cannot be silenced while the danger stands (issue 12 §2): acknowledging pauses
the ladder for the site's pause, resolving needs a reason and the danger gone, and only
the alert's site acts on it."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.scheduler import JobContext
from opsbackend.domain.alerting import alerts as alerting
from opsbackend.domain.errors import NotFound
from opsbackend.domain.infusion import course_lifecycle
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.domain.scope import Scope
from opsbackend.models import OutboundMessage
from opsbackend.sms.console_provider import ConsoleSmsProvider
from tests.phone import reply_text, sms
from tests.test_alerts_and_jobs import alerts, run


@pytest.fixture
def context():
    return JobContext(TimelineRules(), AlertRules(), ConsoleSmsProvider())


@pytest.fixture
def missed(factory, clock, database, context):
    """A site's crew whose bag 1 is 15 minutes past due with its alert raised."""
    crew = factory.crew(phone="+12135550177")
    clock.advance(hours=24, minutes=15)
    run(database, clock, context, "missed_bag_changes")
    [alert] = alerts(database, "missed_bag_change")
    return crew, alert


def test_a_missed_bag_alert_cannot_be_resolved_while_the_bag_hangs(client, auth, missed):
    _crew, alert = missed

    refused = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"reason": "changed"},
                          headers=auth("dispatcher"))

    assert refused.status_code == 409
    assert "still hanging past its due time and the course is running" in str(refused.json)
    assert client.get(f"/api/v1/alerts/{alert.id}",
                      headers=auth("viewer")).json["status"] == "open"


@pytest.mark.parametrize("body, field", [
    ({}, "reason"),
    ({"resolution": "done"}, "resolution"),
    ({"reason": "fixed"}, "reason"),
    ({"reason": "other"}, "note"),
    ({"reason": "duplicate"}, "duplicate_of"),
    ({"reason": "changed", "duplicate_of": 1}, "duplicate_of"),
])
def test_resolving_needs_a_reason_from_the_list(client, auth, database, clock, missed, body,
                                               field):
    crew, alert = missed
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, crew.course.id)

    refused = client.post(f"/api/v1/alerts/{alert.id}/resolve", json=body,
                          headers=auth("dispatcher"))

    assert refused.status_code == 422
    assert field in str(refused.json)


def test_a_danger_that_comes_back_after_a_resolve_raises_a_new_alert(
        client, auth, database, clock, context, missed):
    crew, alert = missed
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, crew.course.id)
    resolved = client.post(f"/api/v1/alerts/{alert.id}/resolve",
                           json={"reason": "course_paused"}, headers=auth("dispatcher"))
    clock.advance(minutes=30)
    with database.transaction() as session:
        course_lifecycle.resume_course(session, clock, crew.course.id)
    clock.advance(hours=1)
    run(database, clock, context, "missed_bag_changes")
    run(database, clock, context, "missed_bag_changes")

    assert resolved.status_code == 200
    first, again = alerts(database, "missed_bag_change")
    assert first.status == "resolved" and again.status == "open"
    assert again.dedupe_key == f"{first.dedupe_key}#2" and again.bag_id == first.bag_id


def test_acknowledging_pauses_the_ladder_for_the_site_pause_then_it_resumes(
        client, auth, database, clock, context, missed):
    crew, alert = missed
    put = client.put("/api/v1/escalation-ladders/acknowledgement-pauses",
                     json={"site_id": crew.site.id, "alert_kind": "missed_bag_change",
                           "minutes": 15}, headers=auth("admin"))
    ack = sms(client, crew.nurse.phone, "ACK")
    clock.advance(minutes=14)
    run(database, clock, context, "escalation")
    paused = _messages(database, alert)
    clock.advance(minutes=2)
    run(database, clock, context, "escalation")

    assert put.status_code == 200
    assert f"A{alert.id} acknowledged" in reply_text(ack)
    resumed = _messages(database, alert)
    assert len(resumed) == len(paused) + 1
    [reopened] = alerts(database, "missed_bag_change")
    assert reopened.status == "open" and reopened.acknowledged_by == \
        f"nurse:{crew.nurse.id} via sms"
    listed = client.get("/api/v1/escalation-ladders/acknowledgement-pauses",
                        headers=auth("viewer")).json
    assert [(p["site_id"], p["alert_kind"], p["minutes"]) for p in listed] == \
        [(crew.site.id, "missed_bag_change", 15)]


def test_the_pause_ends_quietly_when_the_danger_passed(client, database, clock, context,
                                                       missed):
    crew, alert = missed
    sms(client, crew.nurse.phone, "ACK")
    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, crew.course.id)
    before = _messages(database, alert)
    clock.advance(minutes=31)
    run(database, clock, context, "escalation")

    [closed] = alerts(database, "missed_bag_change")
    assert closed.status == "resolved" and _messages(database, alert) == before


def test_a_nurse_of_another_site_acknowledges_nothing(client, factory, database, missed):
    _crew, alert = missed
    stranger = factory.crew(phone="+12135550178")  # another site's crew
    with database.transaction() as session:  # the alert's SMS forwarded to them, say
        session.add(OutboundMessage(to_phone=stranger.nurse.phone, body="x", template="x",
                                    alert_id=alert.id, status="sent"))

    reply = sms(client, stranger.nurse.phone, f"ACK A{alert.id}")

    assert "no open alert" in reply_text(reply).lower()
    [still] = alerts(database, "missed_bag_change")
    assert still.status == "open"
    with database.transaction() as session, pytest.raises(NotFound):
        alerting.acknowledge(session, database.clock, alert.id, "x",
                             Scope(role="nurse", site_ids=frozenset({stranger.site.id})))


def _messages(database, alert):
    with database.new_session() as session:
        return session.scalars(select(OutboundMessage.id).where(
            OutboundMessage.alert_id == alert.id)).all()


def test_acknowledge_api_sets_the_default_pause(client, auth, clock, missed):
    _crew, alert = missed

    acked = client.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=auth("dispatcher"))

    assert acked.json["next_escalation_at"] == (clock.now() + timedelta(minutes=30)).isoformat()
