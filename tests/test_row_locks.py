"""Row locks on PostgreSQL: a write that locks a record must not wait for transactions
that only reference it.

Another transaction inserting a row whose foreign key names a course (the scheduler
raising an alert of that course, seconds before it commits a batch) holds a KEY SHARE
lock on the course. ``SELECT ... FOR UPDATE`` waits for it; ``FOR NO KEY UPDATE`` does
not, and still serialises two writers of the course. Measured in bench_region: nurses'
check-ins waited up to 9 s behind the scheduler's batches with FOR UPDATE.
"""

import threading

import pytest
from sqlmodel import Session

from opsbackend.models import Alert
from tests.test_bags_and_pump import report

WAIT_SECONDS = 5


@pytest.mark.postgres_only
def test_a_pump_report_does_not_wait_for_an_uncommitted_alert_of_its_course(
        app, auth, database, clock, factory):
    patient = factory.patient()
    course = factory.active_course(patient_id=patient.id)
    headers = auth("dispatcher")
    answers = []
    scheduler = Session(database.engine)
    try:
        scheduler.add(Alert(kind="missed_bag_change", dedupe_key="held:1", status="open",
                            severity="high", site_id=patient.site_id, patient_id=patient.id,
                            course_id=course.id, summary="held open by the test",
                            raised_at=clock.now(), created_at=clock.now(),
                            updated_at=clock.now()))
        scheduler.flush()  # the alert row exists, uncommitted: a KEY SHARE lock on the course
        reporting = threading.Thread(target=lambda: answers.append(
            report(app.test_client(), headers, course.id, status="running")))
        reporting.start()
        reporting.join(WAIT_SECONDS)
        finished_while_held = not reporting.is_alive()
    finally:
        scheduler.rollback()
        scheduler.close()
    reporting.join()

    assert finished_while_held, f"the pump report waited over {WAIT_SECONDS} s for the alert"
    assert answers[0].status_code == 201, answers[0].json
