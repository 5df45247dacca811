"""The outbox through the real Twilio SDK against the fake Twilio."""

import itertools
import os
import random
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.alerting import alerts
from opsbackend.domain.messaging import outbox
from opsbackend.models import Alert, Contact, OutboundMessage

NURSE_PHONE = "+12135550131"
DESK_PHONE = "+13105550101"


def queue(database, clock, to=NURSE_PHONE, body="hello", **kwargs):
    kwargs.setdefault("purpose", "safety")
    with database.transaction() as session:
        contact = kwargs.pop("contact", None)
        if contact is not None:
            contact = session.get(Contact, contact.id)
        message = outbox.queue_message(session, clock, to_phone=to, body=body, template="t",
                                       contact=contact, **kwargs)
        return message.id if message else None


def row(database, message_id) -> OutboundMessage:
    with database.new_session() as session:
        return session.get(OutboundMessage, message_id)


def send(database, clock, provider):
    return outbox.send_due(database, clock, provider)


def test_a_queued_message_is_sent_once_with_its_sid(database, clock, twilio_provider,
                                                    fake_twilio):
    message_id = queue(database, clock, body="Bag change missed")

    first = send(database, clock, twilio_provider)
    second = send(database, clock, twilio_provider)

    sent = row(database, message_id)
    assert (first.sent, second.claimed) == (1, 0)
    assert sent.status == "sent" and sent.provider_sid.startswith("SM")
    assert sent.provider_sid == fake_twilio.messages[0]["sid"]
    assert fake_twilio.bodies_to(NURSE_PHONE) == ["Bag change missed"]


def test_transient_errors_retry_with_backoff(database, clock, twilio_provider, fake_twilio):
    message_id = queue(database, clock)
    fake_twilio.fail_next("500")

    send(database, clock, twilio_provider)
    waiting = row(database, message_id)
    send(database, clock, twilio_provider)  # too early: nothing happens
    clock.advance(minutes=1)
    send(database, clock, twilio_provider)

    assert waiting.status == "queued" and waiting.last_error_code == "50000"
    assert timedelta(seconds=15) <= waiting.next_attempt_at - clock.now() + timedelta(
        minutes=1) <= timedelta(seconds=30)
    assert row(database, message_id).status == "sent"
    assert len(fake_twilio.messages) == 1


def test_too_many_requests_at_once_waits_a_moment_not_a_backoff(database, clock,
                                                                 twilio_provider, fake_twilio):
    """Twilio's 429 (20429): the account sent more requests at once than it may. It was
    never processed and the provider is not down: the lanes stop, the queue waits 2 s."""
    first, second = (queue(database, clock, body=f"m{n}") for n in range(2))
    fake_twilio.fail_next("429")

    stopped = send(database, clock, twilio_provider)
    waiting = row(database, first)
    clock.advance(seconds=1)
    too_early = send(database, clock, twilio_provider)
    clock.advance(seconds=1)
    send(database, clock, twilio_provider)

    assert stopped.paused and too_early.claimed == 0
    assert (waiting.status, waiting.last_error_code) == ("queued", "20429")
    assert {row(database, m).status for m in (first, second)} == {"sent"}
    assert fake_twilio.bodies_to(NURSE_PHONE) == ["m0", "m1"]


@pytest.mark.parametrize("failure", ["accept_then_timeout", "accept_then_close"])
def test_a_message_twilio_took_without_answering_is_never_sent_twice(
        database, clock, twilio_provider, fake_twilio, failure):
    """No answer in time, or the connection closed without one: Twilio may have it. The
    reaper asks Twilio, which has it, rather than sending again."""
    message_id = queue(database, clock, body="taken, then no answer")
    fake_twilio.fail_next(failure)

    send(database, clock, twilio_provider)
    waiting = row(database, message_id)
    clock.advance(minutes=3)
    send(database, clock, twilio_provider)
    send(database, clock, twilio_provider)

    resolved = row(database, message_id)
    assert waiting.status == "sending"
    assert resolved.status == "sent"
    assert resolved.provider_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.messages) == 1
    assert fake_twilio.bodies_to(NURSE_PHONE) == ["taken, then no answer"]


def test_a_refused_connection_is_safe_to_send_again(twilio_provider):
    from opsbackend.sms.provider import TransientSmsError
    from opsbackend.sms.twilio_provider import TwilioSmsProvider
    from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    nobody = TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                               from_number="+13105550199", api_base_url=f"http://127.0.0.1:{port}",
                               timeout=1)

    with pytest.raises(TransientSmsError) as refused:
        nobody.send(NURSE_PHONE, "hello", None)

    assert refused.value.maybe_sent is False


def test_a_timeout_before_twilio_took_it_is_sent_again(database, clock, twilio_provider,
                                                       fake_twilio):
    message_id = queue(database, clock, body="never arrived")
    fake_twilio.fail_next("timeout")

    send(database, clock, twilio_provider)
    clock.advance(minutes=3)
    send(database, clock, twilio_provider)  # the reaper finds nothing at Twilio: queued again
    send(database, clock, twilio_provider)

    assert row(database, message_id).status == "sent"
    assert fake_twilio.bodies_to(NURSE_PHONE) == ["never arrived"]


def test_a_crash_after_the_provider_call_never_sends_twice(database, clock, twilio_provider,
                                                           fake_twilio):
    message_id = queue(database, clock, body="exactly once")

    class CrashAfterSending:
        """Sends for real, then dies before the outbox can record it."""

        name = "crashing"

        def send(self, to, body, callback):
            twilio_provider.send(to, body, callback)
            raise SystemExit("killed after the provider call")

        def find_sent(self, *args):
            return twilio_provider.find_sent(*args)

    with pytest.raises(SystemExit):
        send(database, clock, CrashAfterSending())
    # The process restarts; the row is still "sending" until the reaper looks.
    send(database, clock, twilio_provider)
    clock.advance(minutes=3)
    send(database, clock, twilio_provider)
    send(database, clock, twilio_provider)

    assert row(database, message_id).status == "sent"
    assert fake_twilio.bodies_to(NURSE_PHONE) == ["exactly once"]


def test_a_pass_that_dies_half_way_records_what_already_went_out(database, clock,
                                                                twilio_provider, fake_twilio):
    ids = [queue(database, clock, body=f"m{n}") for n in range(4)]

    class DiesOnTheThird:
        name = "dying"
        calls = 0

        def send(self, to, body, callback):
            self.calls += 1
            if self.calls == 3:
                twilio_provider.send(to, body, callback)
                raise SystemExit("killed after the provider call")
            return twilio_provider.send(to, body, callback)

    with pytest.raises(SystemExit):
        send(database, clock, DiesOnTheThird())

    statuses = [row(database, message_id).status for message_id in ids]
    assert statuses == ["sent", "sent", "sending", "sending"]
    assert row(database, ids[0]).provider_sid == fake_twilio.messages[0]["sid"]
    clock.advance(minutes=3)  # the reaper settles the third, the fourth goes out once
    send(database, clock, twilio_provider)
    send(database, clock, twilio_provider)
    assert [row(database, message_id).status for message_id in ids] == ["sent"] * 4
    assert sorted(fake_twilio.bodies_to(NURSE_PHONE)) == ["m0", "m1", "m2", "m3"]


def test_a_status_callback_before_the_sid_is_recorded_keeps_its_status(database, clock,
                                                                        twilio_provider):
    """Twilio can call back before the sender's pass records the SID it returned."""
    message_id = queue(database, clock, body="fast callback")

    class CallsBackAtOnce:
        name = "fast"

        def send(self, to, body, callback):
            result = twilio_provider.send(to, body, callback)
            with database.transaction() as session:
                outbox.record_status_callback(session, clock, outbox_id=message_id,
                                              sid=result.sid, status="delivered")
            return result

    send(database, clock, CallsBackAtOnce())

    settled = row(database, message_id)
    assert settled.status == "delivered"
    assert settled.delivered_at == clock.now() and settled.sent_at == clock.now()


def test_a_status_callback_settles_a_crashed_row_before_the_reaper(database, clock,
                                                                   twilio_provider,
                                                                   fake_twilio):
    message_id = queue(database, clock, body="callback first")
    fake_twilio.fail_next("accept_then_timeout")
    send(database, clock, twilio_provider)
    sid = fake_twilio.messages[0]["sid"]

    with database.transaction() as session:
        outbox.record_status_callback(session, clock, outbox_id=message_id, sid=sid,
                                      status="delivered")

    settled = row(database, message_id)
    assert (settled.status, settled.provider_sid) == ("delivered", sid)
    assert settled.delivered_at == clock.now()


def test_an_invalid_number_fails_at_once(database, clock, twilio_provider, fake_twilio):
    message_id = queue(database, clock)
    fake_twilio.fail_next("21211")

    summary = send(database, clock, twilio_provider)

    failed = row(database, message_id)
    assert summary.failed == 1
    assert (failed.status, failed.last_error_code, failed.attempts) == ("failed", "21211", 1)


def test_an_unsubscribed_recipient_fails_and_is_opted_out(database, clock, factory,
                                                          twilio_provider, fake_twilio):
    patient = factory.patient()
    contact = patient.contacts[0]
    message_id = queue(database, clock, to=contact.phone, purpose="info")
    later_id = queue(database, clock, to=contact.phone, purpose="info", body="later")
    fake_twilio.fail_next("21610")

    send(database, clock, twilio_provider)

    assert row(database, message_id).status == "failed"
    assert row(database, later_id).status == "suppressed"
    with database.new_session() as session:
        assert session.get(Contact, contact.id).opted_out is True
    afterwards = queue(database, clock, to=contact.phone, body="afterwards")
    assert row(database, afterwards).status == "suppressed"
    assert len(fake_twilio.messages) == 0


def test_retries_stop_after_the_limit_but_not_for_safety(database, clock, twilio_provider,
                                                         fake_twilio):
    message_id = queue(database, clock, purpose="info")
    safety_id = queue(database, clock, purpose="safety", body="keeps trying")
    fake_twilio.fail_next("500", times=outbox.MAX_ATTEMPTS + 3)

    for _ in range(outbox.MAX_ATTEMPTS + 2):
        send(database, clock, twilio_provider)
        clock.advance(hours=1)
    for _ in range(3):
        send(database, clock, twilio_provider)
        clock.advance(hours=1)

    failed = row(database, message_id)
    assert (failed.status, failed.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert row(database, safety_id).status == "sent"


def test_an_outage_keeps_messages_and_their_order(database, clock, twilio_provider,
                                                  fake_twilio):
    ids = [queue(database, clock, body=f"alert {n}") for n in range(5)]
    fake_twilio.fail_next("500", times=4)

    for _ in range(10):
        send(database, clock, twilio_provider)
        clock.advance(minutes=5)

    assert fake_twilio.bodies_to(NURSE_PHONE) == [f"alert {n}" for n in range(5)]
    assert {row(database, i).status for i in ids} == {"sent"}


class Delayed:
    """The real provider, each send held a moment (``before_send``) as Twilio's answer is."""

    name = "delayed"

    def __init__(self, provider, before_send):
        self.provider, self.before_send = provider, before_send

    def send(self, to, body, callback):
        self.before_send()
        return self.provider.send(to, body, callback)

    def find_sent(self, *args):
        return self.provider.find_sent(*args)


def test_messages_to_different_phones_are_sent_side_by_side(database, clock, twilio_provider,
                                                            fake_twilio):
    phones = [f"+1213555{n:04d}" for n in range(4)]
    for phone in phones:
        queue(database, clock, to=phone, body=f"to {phone}")
    # Each send waits until four are under way: one after another, the first waits alone
    # and the barrier breaks.
    together = threading.Barrier(4, timeout=5)

    summary = send(database, clock, Delayed(twilio_provider, together.wait))

    assert summary.sent == 4
    assert sorted(m["to"] for m in fake_twilio.messages) == phones


def test_the_desks_messages_about_different_alerts_go_side_by_side(database, clock,
                                                                   twilio_provider, fake_twilio):
    """A burst: the dispatch desk is told of a hundred alerts at once."""
    with database.transaction() as session:
        raised = [Alert(kind="missed_bag_change", dedupe_key=f"burst:{n}", summary=f"A{n}",
                        raised_at=clock.now()) for n in range(4)]
        session.add_all(raised)
        session.flush()
        alert_ids = [alert.id for alert in raised]
    for alert_id in alert_ids:
        queue(database, clock, to=DESK_PHONE, body=f"alert {alert_id}", alert_id=alert_id)
    together = threading.Barrier(4, timeout=5)

    summary = send(database, clock, Delayed(twilio_provider, together.wait))

    assert summary.sent == 4
    assert sorted(fake_twilio.bodies_to(DESK_PHONE)) == sorted(f"alert {n}" for n in alert_ids)


def test_messages_about_one_thing_to_one_phone_keep_their_order(database, clock,
                                                                twilio_provider, fake_twilio):
    phones = [f"+1213555{n:04d}" for n in range(3)]
    for n in range(6):
        for phone in phones:
            queue(database, clock, to=phone, body=f"{phone} #{n}")
    jitter = random.Random(5)

    send(database, clock, Delayed(twilio_provider, lambda: time.sleep(jitter.random() / 50)))

    for phone in phones:
        assert fake_twilio.bodies_to(phone) == [f"{phone} #{n}" for n in range(6)]


def test_a_struggling_provider_stops_every_lane_and_loses_nothing(database, clock,
                                                                  twilio_provider, fake_twilio):
    phones = [f"+1213555{n:04d}" for n in range(4)]
    ids = [queue(database, clock, to=phone, body=f"{phone} #{n}")
           for n in range(3) for phone in phones]
    fake_twilio.fail_next("500")

    first = send(database, clock, twilio_provider)
    waiting = [row(database, message_id) for message_id in ids]
    clock.advance(minutes=10)
    send(database, clock, twilio_provider)

    assert first.paused and first.retried == 1 and first.sent < len(ids) - 1
    untried = [m for m in waiting if m.status == "queued" and m.last_error_code is None]
    assert untried and {m.attempts for m in untried} == {0}  # released, the try not counted
    assert {row(database, message_id).status for message_id in ids} == {"sent"}
    assert sorted(m["body"] for m in fake_twilio.messages) == sorted(
        f"{phone} #{n}" for n in range(3) for phone in phones)


def test_a_reminder_waits_for_the_end_of_quiet_hours(database, clock, factory):
    patient = factory.patient()  # Los Angeles; quiet hours 21:00-07:00
    contact = patient.contacts[0]
    clock.set(datetime(2026, 3, 3, 6, 30, tzinfo=UTC))  # 22:30 in Los Angeles

    reminder = row(database, queue(database, clock, to=contact.phone, contact=contact,
                                   purpose="reminder"))
    safety = row(database, queue(database, clock, to=contact.phone, contact=contact,
                                 purpose="safety"))

    assert reminder.next_attempt_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 07:00 PST
    assert safety.next_attempt_at is None


def test_quiet_hours_follow_the_contacts_own_time_zone(database, clock, factory):
    patient = factory.patient(contacts=[{"name": "Ana", "relationship": "aunt",
                                         "phone": "+16095550120",
                                         "timezone": "America/New_York"}])
    contact = patient.contacts[0]
    clock.set(datetime(2026, 3, 3, 3, 0, tzinfo=UTC))  # 22:00 New York, 19:00 Los Angeles

    reminder = row(database, queue(database, clock, to=contact.phone, contact=contact,
                                   purpose="reminder"))

    assert reminder.next_attempt_at == datetime(2026, 3, 3, 12, 0, tzinfo=UTC)


def test_stop_suppresses_every_later_message_and_start_restores(database, clock, factory):
    patient = factory.patient()
    contact = patient.contacts[0]
    queued = queue(database, clock, to=contact.phone, contact=contact, purpose="reminder")

    with database.transaction() as session:
        outbox.set_opt_out(session, clock, contact.phone, True)
    after_stop = queue(database, clock, to=contact.phone, contact=contact, purpose="reminder",
                       body="after stop")
    with database.transaction() as session:
        outbox.set_opt_out(session, clock, contact.phone, False)
    after_start = queue(database, clock, to=contact.phone, contact=contact, purpose="reminder",
                        body="after start")

    assert row(database, queued).status == "suppressed"
    assert row(database, after_stop).suppressed_reason == "opted_out"
    assert row(database, after_start).status == "queued"


def test_the_same_dedupe_key_queues_once(database, clock):
    first = queue(database, clock, dedupe_key="alert:1:step:0:+12135550131")
    second = queue(database, clock, dedupe_key="alert:1:step:0:+12135550131")

    assert first is not None and second is None


def test_status_callbacks_never_go_backwards(database, clock, twilio_provider):
    message_id = queue(database, clock)
    send(database, clock, twilio_provider)
    sid = row(database, message_id).provider_sid

    with database.transaction() as session:
        outbox.record_status_callback(session, clock, outbox_id=None, sid=sid,
                                      status="delivered")
        outbox.record_status_callback(session, clock, outbox_id=None, sid=sid, status="sent")
        unknown = outbox.record_status_callback(session, clock, outbox_id=None, sid="SMnope",
                                                status="delivered")

    assert row(database, message_id).status == "delivered"
    assert unknown is None


def test_the_console_provider_logs_and_delivers(database, clock, caplog):
    from opsbackend.sms.console_provider import ConsoleSmsProvider

    message_id = queue(database, clock, body="to the log")
    caplog.set_level("INFO", logger="opsbackend.sms")

    send(database, clock, ConsoleSmsProvider())

    assert row(database, message_id).status == "delivered"
    assert any(getattr(r, "body", None) == "to the log" for r in caplog.records)


@pytest.mark.postgres_only
def test_two_senders_racing_send_each_message_once(database, clock, twilio_provider,
                                                   fake_twilio):
    ids = [queue(database, clock, body=f"m{n}") for n in range(60)]
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        for _ in range(5):
            outbox.send_due(database, clock, twilio_provider, batch_size=10)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    bodies = [m["body"] for m in fake_twilio.messages]
    assert sorted(bodies) == sorted(f"m{n}" for n in range(60))
    with database.new_session() as session:
        statuses = set(session.scalars(select(OutboundMessage.status)
                                       .where(OutboundMessage.id.in_(ids))))
    assert statuses == {"sent"}


def test_backoff_grows_and_is_capped():
    assert outbox.backoff(1, rng=lambda: 0) == timedelta(seconds=15)
    assert outbox.backoff(3, rng=lambda: 1) == timedelta(minutes=2)
    assert outbox.backoff(30, rng=lambda: 1) == outbox.MAX_BACKOFF == timedelta(minutes=5)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_process_sends_in_lanes_of_its_own():
    """serve --with-scheduler sends from gunicorn's master, which forks workers later."""
    from opsbackend.domain.messaging import send_lanes

    send_lanes.run_in_lanes(list(range(8)), lambda n: n, lambda n: True)  # parent threads
    child = os.fork()
    if child == 0:  # the child: its lanes must run, not hang on the parent's dead threads
        done = []
        signal.alarm(10)
        send_lanes.run_in_lanes([1, 2, 3], lambda n: n, lambda n: done.append(n) or True)
        os._exit(0 if sorted(done) == [1, 2, 3] else 1)
    _pid, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_a_missed_bag_sms_goes_before_a_flood_queued_earlier(database, clock, factory,
                                                             twilio_provider, fake_twilio):
    """A busy start queues thousands (unassigned visits, the day's reminders) before a
    bag is missed: the sender takes the most urgent first, then the oldest."""
    site = factory.site()
    with database.transaction() as session:
        for n in range(12):
            alerts.raise_alert(session, clock, kind="unassigned_visit", severity="medium",
                               dedupe_key=f"test:unassigned:{n}", site_id=site.id,
                               summary=f"visit {n} has no unit")
    for n in range(12):
        queue(database, clock, to=f"+1213555{n:04d}", body=f"reminder {n}",
              purpose="reminder")
    with database.transaction() as session:
        missed = alerts.raise_alert(session, clock, kind="missed_bag_change",
                                    dedupe_key="test:missed", site_id=site.id,
                                    summary="bag 3 not changed").alert

    passes = []
    while claimed := outbox.send_due(database, clock, twilio_provider, batch_size=5).claimed:
        assert claimed <= 5  # PostgreSQL's claim once took the whole queue
        with database.new_session() as session:
            passes.append(session.scalars(select(OutboundMessage).where(
                OutboundMessage.status == "sent",
                OutboundMessage.id.not_in([m.id for done in passes for m in done]))).all())

    assert missed.id in {m.alert_id for m in passes[0]}
    # Each pass took nothing less urgent than what a later pass took.
    for before, after in itertools.pairwise(passes):
        assert max(m.priority for m in before) <= min(m.priority for m in after)
    purposes = [[m.purpose for m in done] for done in passes]
    assert purposes[-1] == ["reminder"] * len(purposes[-1])
    assert sum(p.count("reminder") for p in purposes) == 12


def test_within_a_claimed_batch_the_most_urgent_leave_first(database, clock,
                                                            twilio_provider, fake_twilio):
    for n in range(20):
        queue(database, clock, to=f"+1213555{n:04d}", body=f"reminder {n}",
              purpose="reminder")
    queue(database, clock, to=DESK_PHONE, body="bag 3 not changed", priority=0)

    outbox.send_due(database, clock, twilio_provider, batch_size=100, lanes=1)

    assert fake_twilio.messages[0]["body"] == "bag 3 not changed"
    assert len(fake_twilio.messages) == 21
