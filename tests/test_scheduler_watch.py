"""When no scheduler leads, the sites' on-call phones hear of it: once, from whoever
notices first."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from jobs.leader import FileLeaderLock
from jobs.scheduler import Leadership
from jobs.watch import SchedulerWatch
from opsbackend.models import Alert
from tests.factories import count_rows

ON_CALL = "+13105550100"  # the factory sites' on-call phone


@pytest.fixture
def leader(database, clock, tmp_path):
    leadership = Leadership(database, clock, FileLeaderLock(tmp_path / "leader.lock"))
    yield leadership
    leadership.lock.release()


def watches(database, clock, provider, count=2):
    """The web server's watch and a standby scheduler's."""
    return [SchedulerWatch(database, clock, provider) for _ in range(count)]


def scheduler_down_alerts(database):
    with database.new_session() as session:
        return session.scalars(select(Alert).where(Alert.kind == "scheduler_down")
                               .order_by(Alert.id)).all()


def test_two_quiet_minutes_alert_each_sites_on_call_phone_once(
        database, clock, factory, leader, fake_twilio, twilio_provider, backend):
    sites = [factory.site(), factory.site()]
    factory.site(on_call_phone=None)  # no on-call phone: nobody to tell there
    web, standby = watches(database, clock, twilio_provider)
    assert leader.tick()  # the last heartbeat
    leader.lock.release()  # then the leader hangs or dies with nobody to take over

    clock.advance(minutes=1, seconds=59)
    assert web.check() == 0 and standby.check() == 0
    clock.advance(seconds=2)
    if backend == "postgres":  # both notice at the same instant
        threads = [threading.Thread(target=watch.check) for watch in (web, standby)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:  # SQLite writers take turns
        web.check()
        standby.check()
    clock.advance(minutes=5)
    web.check()
    standby.check()

    raised = scheduler_down_alerts(database)
    assert sorted(a.site_id for a in raised) == sorted(site.id for site in sites)
    assert {a.condition_at for a in raised} == {clock.now() - timedelta(minutes=5, seconds=1)}
    # One message per alert (the two alerts' messages go side by side: either order).
    assert sorted(fake_twilio.bodies_to(ON_CALL)) == sorted(
        f"ALERT A{a.id}: the opsbackend scheduler has stopped for 2+ minutes: missed bag "
        "changes and pump alarms are NOT being watched. Check the servers now; reply ACK "
        "when someone is on it." for a in raised)
    assert len(fake_twilio.messages) == 2


def test_a_leader_again_resolves_it_and_the_next_outage_alerts_again(
        database, clock, factory, leader, fake_twilio, twilio_provider):
    factory.site()
    [watch] = watches(database, clock, twilio_provider, 1)
    leader.tick()
    clock.advance(minutes=3)
    assert watch.check() == 1

    leader.tick()  # a scheduler leads again
    watch.check()
    assert [a.status for a in scheduler_down_alerts(database)] == ["resolved"]
    clock.advance(minutes=3)  # and stops again

    assert watch.check() == 1
    assert [a.status for a in scheduler_down_alerts(database)] == ["resolved", "open"]
    assert len(fake_twilio.bodies_to(ON_CALL)) == 2


def test_with_no_scheduler_ever_the_watch_counts_from_its_own_start(
        database, clock, factory, fake_twilio, twilio_provider):
    factory.site()
    [watch] = watches(database, clock, twilio_provider, 1)

    clock.advance(minutes=1)
    assert watch.check() == 0
    clock.advance(minutes=1)
    assert watch.check() == 1
    assert count_rows(database, Alert, Alert.dedupe_key.like("scheduler_down:%:never")) == 1
    assert len(fake_twilio.bodies_to(ON_CALL)) == 1
