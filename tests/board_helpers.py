"""Board users and sign-in for tests (Flask test client)."""

import re

from opsbackend.domain.registry import users

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def board_user(database, *, email="dana@example.org", role="dispatcher", site_ids=(),
               password=PASSWORD):
    with database.transaction(actor="test:factory") as session:
        return users.create_user(session, email=email, role=role, password=password,
                                 site_ids=list(site_ids))


def csrf_token(client, path="/board/sign-in") -> str:
    page = client.get(path)
    return CSRF_FIELD.search(page.get_data(as_text=True)).group(1)


def sign_in(client, email="dana@example.org", password=PASSWORD):
    return client.post("/board/sign-in", data={"email": email, "password": password,
                                               "csrf_token": csrf_token(client)})


def board_scenario(factory, database, clock):
    """Two sites. Site 1 (Los Angeles): a bag overdue by 20 minutes with an open alert, a
    bag due in 3 hours nobody is on yet, and a unit on shift that can take it. Site 2: a
    patient whose bag is due too, whom a site-1 dispatcher must never see."""
    from datetime import time, timedelta

    from opsbackend.domain.alerting import alerts

    site1 = factory.site(code="LA", name="Los Angeles")
    site2 = factory.site(code="PHL", name="Philadelphia", timezone="America/New_York")
    now = clock.now()
    overdue = factory.patient(site_id=site1.id, study_code="W-OVER")
    soon = factory.patient(site_id=site1.id, study_code="W-SOON")
    other = factory.patient(site_id=site2.id, study_code="NE-HIDDEN")
    overdue_course = factory.active_course(patient_id=overdue.id, bag_interval_hours=24,
                                           started_at=now - timedelta(hours=24, minutes=20))
    soon_course = factory.active_course(patient_id=soon.id, bag_interval_hours=24,
                                        started_at=now - timedelta(hours=21))
    factory.active_course(patient_id=other.id, bag_interval_hours=24,
                          started_at=now - timedelta(hours=22))
    shifts = [dict(weekday=day, starts_at=time(5), ends_at=time(23)) for day in range(7)]
    unit = factory.unit(site_id=site1.id, call_sign="WEST-9", shifts=shifts,
                        skills=["pediatric", "infant"])
    with database.transaction(actor="test:factory") as session:
        alert = alerts.raise_alert(
            session, clock, kind="missed_bag_change", dedupe_key="test:missed",
            site_id=site1.id, patient_id=overdue.id, course_id=overdue_course.id,
            summary="W-OVER bag 1 not changed").alert
    return dict(site1=site1, site2=site2, unit=unit, alert=alert,
                soon_course=soon_course, overdue_course=overdue_course)
