"""Shared record helpers in the domain layer."""

from opsbackend.domain.records import get_or_404
from opsbackend.models import Course


def test_a_record_locked_for_update_is_read_afresh_not_from_an_earlier_load(database, factory):
    course = factory.active_course()
    with database.new_session() as session:
        loaded = session.get(Course, course.id)  # loaded before someone else changes it
        session.commit()  # the object stays in the session (no expiry on commit)
        with database.transaction() as elsewhere:
            elsewhere.get(Course, course.id).status = "paused"
        locked = get_or_404(session, Course, course.id, for_update=True)

        assert locked is loaded and locked.status == "paused"
