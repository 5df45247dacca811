import csv
import io
from datetime import timedelta


def test_the_timeline_lists_everything_in_time_order(client, auth, factory, clock):
    course = factory.active_course(bag_interval_hours=24)
    headers = auth("nurse")
    clock.advance(hours=3)
    client.post(f"/api/v1/courses/{course.id}/pump-reports",
                json={"status": "alarm", "alarm_type": "air_in_line"}, headers=headers)
    clock.advance(minutes=20)
    client.post(f"/api/v1/courses/{course.id}/pump-reports", json={"status": "running"},
                headers=headers)
    clock.advance(hours=22)
    client.post(f"/api/v1/courses/{course.id}/bag-changes",
                json={"no_flush_confirmed": True}, headers=headers)

    timeline = client.get(f"/api/v1/patients/{course.patient_id}/timeline",
                          headers=auth("viewer")).json
    entries = timeline["entries"]

    times = [e["at"] for e in entries]
    assert times == sorted(times)
    types = [e["type"] for e in entries]
    for expected in ("course_ordered", "course_started", "bag_hung", "pump_report", "bag_down",
                     "visit", "deviation"):
        assert expected in types, expected
    assert types.index("course_started") < types.index("pump_report") < types.index("bag_down")
    assert timeline["site_timezone"] == "America/Los_Angeles"


def test_the_timeline_of_an_unknown_patient_is_a_404(client, auth):
    assert client.get("/api/v1/patients/999/timeline", headers=auth("viewer")).status_code == 404


def late_change(client, auth, factory, clock, minutes_late, **patient):
    course = factory.active_course(patient_id=factory.patient(**patient).id,
                                   bag_interval_hours=24, started_at=clock.now())
    clock.advance(hours=24, minutes=minutes_late)
    client.post(f"/api/v1/courses/{course.id}/bag-changes", json={"no_flush_confirmed": True},
                headers=auth("nurse"))
    clock.advance(hours=-24, minutes=-minutes_late)
    return course


def test_deviations_filter_by_site_patient_kind_and_dates(client, auth, factory, clock):
    site = factory.site()
    mine = late_change(client, auth, factory, clock, 30, site_id=site.id)
    late_change(client, auth, factory, clock, 45)
    headers = auth("viewer")

    by_site = client.get(f"/api/v1/deviations?site_id={site.id}", headers=headers).json
    by_patient = client.get(f"/api/v1/deviations?patient_id={mine.patient_id}",
                            headers=headers).json
    since = (clock.now() + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    none_later = client.get(f"/api/v1/deviations?since={since}", headers=headers).json
    wrong_kind = client.get("/api/v1/deviations?kind=missed_visit", headers=headers).json

    assert [d["minutes"] for d in by_site["items"]] == [30]
    assert [d["patient_id"] for d in by_patient["items"]] == [mine.patient_id]
    assert none_later["total"] == 0
    assert wrong_kind["total"] == 0


def test_deviations_export_as_csv(client, auth, factory, clock):
    late_change(client, auth, factory, clock, 30)
    late_change(client, auth, factory, clock, 45)

    response = client.get("/api/v1/deviations?kind=late_bag_change",
                          headers=auth("viewer") | {"Accept": "text/csv"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["minutes"] for row in rows] == ["30", "45"]
    assert rows[0]["kind"] == "late_bag_change"
    assert "due_at=" in rows[0]["evidence"]


def test_an_unknown_deviation_kind_is_a_422(client, auth):
    response = client.get("/api/v1/deviations?kind=bad", headers=auth("viewer"))

    assert response.status_code == 422
    assert "kind" in response.json["errors"]["query"]
