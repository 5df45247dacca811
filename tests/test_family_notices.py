"""Families hear when the nurse is on the way, when a visit moves, and when it is off."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from opsbackend.domain.dispatch import assignment
from opsbackend.domain.infusion import course_lifecycle
from opsbackend.models import OutboundMessage
from tests.test_dispatch import ALL_WEEK_DAYS, EVERY_SITE, MONDAY, StraightLine, visit_at


def family_messages(database, phone):
    with database.new_session() as session:
        return session.scalars(select(OutboundMessage).where(OutboundMessage.to_phone == phone)
                               .order_by(OutboundMessage.id)).all()


def test_on_the_way_texts_the_family_the_eta_even_in_quiet_hours(client, auth, factory,
                                                                   database, clock):
    site = factory.site()
    unit = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY + timedelta(hours=3))
    client.post(f"/api/v1/visits/{visit.id}/assign", json={"unit_id": unit.id},
                headers=auth("dispatcher"))
    clock.set(datetime(2026, 3, 3, 6, 30, tzinfo=UTC))  # 22:30 in Los Angeles: quiet hours
    eta = "2026-03-03T06:55:00Z"

    response = client.post(f"/api/v1/visits/{visit.id}/on-the-way", json={"eta": eta},
                           headers=auth("nurse"))

    assert response.status_code == 200 and response.json["status"] == "en_route"
    phone = factory_contact_phone(database, visit)
    [message] = family_messages(database, phone)
    assert "on the way" in message.body and "22:55" in message.body
    assert message.next_attempt_at is None  # not held for the morning


def test_a_reassignment_that_moves_the_time_tells_the_family(factory, database, clock):
    site = factory.site()
    near = factory.unit(site_id=site.id, base_lat=34.0, base_lon=-118.0, skills=["pediatric"],
                        shifts=ALL_WEEK_DAYS)
    far = factory.unit(site_id=site.id, base_lat=34.4, base_lon=-118.0, skills=["pediatric"],
                       shifts=ALL_WEEK_DAYS)
    visit = visit_at(factory, database, site, 34.0, -118.0, MONDAY, minutes=30)
    with database.transaction() as session:
        assignment.assign(session, clock, EVERY_SITE, visit.id, near.id, StraightLine())
    with database.transaction() as session:  # reassigned: the far unit arrives later
        assignment.assign(session, clock, EVERY_SITE, visit.id, far.id, StraightLine())

    [message] = family_messages(database, factory_contact_phone(database, visit))
    assert message.template == "visit.changed" and "has changed" in message.body


def test_pausing_a_course_cancels_its_planned_visit_and_tells_the_family(factory, database,
                                                                         clock):
    unit = factory.unit()
    course = factory.active_course(bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)

    with database.transaction() as session:
        course_lifecycle.pause_course(session, clock, course.id, reason="fever")

    [message] = family_messages(database, factory_contact_phone(database, visit))
    assert message.template == "visit.cancelled" and "cancelled" in message.body


def factory_contact_phone(database, visit):
    from opsbackend.models import Contact

    with database.new_session() as session:
        return session.scalars(select(Contact.phone).where(
            Contact.patient_id == visit.patient_id)).first()
