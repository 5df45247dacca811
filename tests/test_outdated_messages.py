"""Outdated messages never go out: a reminder or notice about a visit that started, ended,
moved again or was cancelled is suppressed at send time, with the reason."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from opsbackend.domain.dispatch import visit_changes
from opsbackend.domain.messaging import outbox, reminders
from opsbackend.domain.scope import Scope
from opsbackend.models import Contact, OutboundMessage, Visit
from tests.test_dispatch import StraightLine

MONDAY_2200_LA = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
TUESDAY_0800_LA = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)


@pytest.fixture
def tuesday_visit(factory, database, clock):
    """Monday 22:00 in Los Angeles; a bag-change visit Tuesday 07:00-09:00, the bag due at
    09:00; the family's quiet hours end at 08:00."""
    clock.set(MONDAY_2200_LA)
    patient = factory.patient()
    factory.active_course(patient_id=patient.id, bag_interval_hours=24,
                          started_at=datetime(2026, 3, 2, 17, 0, tzinfo=UTC))
    with database.transaction() as session:
        session.get(Contact, patient.contacts[0].id).quiet_hours_end = time(8, 0)
        visit = session.scalars(select(Visit).where(Visit.patient_id == patient.id,
                                                    Visit.kind == "bag_change")).first()
    return patient.contacts[0].phone, visit


def family_messages(database, phone):
    with database.new_session() as session:
        return session.scalars(select(OutboundMessage).where(OutboundMessage.to_phone == phone)
                               .order_by(OutboundMessage.id)).all()


def test_a_reminder_held_by_quiet_hours_is_not_sent_after_its_visit_began(
        database, clock, tuesday_visit, twilio_provider, fake_twilio):
    phone, _visit = tuesday_visit
    with database.transaction() as session:
        reminders.queue_due_reminders(session, clock)
    [held] = family_messages(database, phone)
    clock.set(TUESDAY_0800_LA)

    outbox.send_due(database, clock, twilio_provider)

    [message] = family_messages(database, phone)
    assert held.template == "reminder.day_before" and held.next_attempt_at == TUESDAY_0800_LA
    assert (message.status, message.suppressed_reason) == ("suppressed", "visit_started")
    assert fake_twilio.bodies_to(phone) == []


def test_a_change_notice_outdated_by_a_second_move_is_not_sent(
        database, clock, tuesday_visit, twilio_provider, fake_twilio):
    phone, visit = tuesday_visit
    for minutes in (60, 30):  # an hour earlier, then half an hour earlier than planned
        with database.transaction() as session:
            visit_changes.move_visit(session, clock, Scope.everything(), visit.id, {
                "window_start": visit.window_start - timedelta(minutes=minutes),
                "window_end": visit.window_end - timedelta(minutes=minutes),
                "reason_code": "family_request"}, StraightLine())
        clock.advance(minutes=5)
    clock.set(TUESDAY_0800_LA)

    outbox.send_due(database, clock, twilio_provider)

    first, second = family_messages(database, phone)
    assert (first.status, first.suppressed_reason) == ("suppressed", "visit_moved")
    assert second.status == "sent"
    assert fake_twilio.bodies_to(phone) == [second.body]


def test_a_reminder_for_a_cancelled_visit_is_not_sent_but_the_cancellation_is(
        database, clock, tuesday_visit, twilio_provider, fake_twilio):
    phone, visit = tuesday_visit
    with database.transaction() as session:
        reminders.queue_due_reminders(session, clock)
        visit_changes.cancel_visit(session, clock, Scope.everything(), visit.id, "duplicate",
                                   None, StraightLine())
    clock.set(TUESDAY_0800_LA)

    outbox.send_due(database, clock, twilio_provider)

    reminder, cancelled = family_messages(database, phone)
    assert (reminder.status, reminder.suppressed_reason) == ("suppressed", "visit_cancelled")
    assert (cancelled.template, cancelled.status) == ("visit.cancelled", "sent")
