def test_a_course_defaults_to_28_days_and_the_label_rate(client, auth, factory):
    patient = factory.patient(weight_kg=20)

    response = client.post(
        "/api/v1/courses",
        json={"patient_id": patient.id, "planned_start_at": "2026-03-03T09:00:00-08:00",
              "bag_interval_hours": 48, "pump_model": "CADD-Solis"},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["duration_days"] == 28
    assert body["rate_ml_per_hour"] == 5.0
    assert body["status"] == "scheduled"
    assert body["planned_start_at"] == "2026-03-03T17:00:00+00:00"
    assert body["warnings"] == []


def test_a_rate_that_does_not_match_the_bag_is_flagged(client, auth, factory):
    patient = factory.patient(weight_kg=20)

    response = client.post(
        "/api/v1/courses",
        json={"patient_id": patient.id, "planned_start_at": "2026-03-03T17:00:00Z",
              "bag_interval_hours": 24, "rate_ml_per_hour": 5.0},
        headers=auth("dispatcher"),
    )

    assert [w["code"] for w in response.json["warnings"]] == ["rate_mismatch"]


def test_preservative_bags_for_a_light_patient_are_flagged(client, auth, factory):
    patient = factory.patient(weight_kg=4.8)

    response = client.post(
        "/api/v1/courses",
        json={"patient_id": patient.id, "planned_start_at": "2026-03-03T17:00:00Z",
              "bag_interval_hours": 96},
        headers=auth("dispatcher"),
    )

    assert [w["code"] for w in response.json["warnings"]] == ["preservative_under_min_weight"]


def test_bag_interval_outside_the_allowed_set_is_a_422(client, auth, factory):
    patient = factory.patient()

    response = client.post(
        "/api/v1/courses",
        json={"patient_id": patient.id, "planned_start_at": "2026-03-03T17:00:00Z",
              "bag_interval_hours": 36},
        headers=auth("dispatcher"),
    )

    assert response.status_code == 422
    assert "bag_interval_hours" in response.json["errors"]["json"]


def test_a_start_time_without_offset_is_taken_as_utc(client, auth, factory):
    patient = factory.patient()

    response = client.post(
        "/api/v1/courses",
        json={"patient_id": patient.id, "planned_start_at": "2026-03-03T17:00:00",
              "bag_interval_hours": 24},
        headers=auth("dispatcher"),
    )

    assert response.json["planned_start_at"] == "2026-03-03T17:00:00+00:00"


def test_the_order_is_fixed_once_the_course_started(client, auth, factory):
    course = factory.active_course()

    locked = client.patch(f"/api/v1/courses/{course.id}", json={"bag_interval_hours": 24},
                          headers=auth("dispatcher"))
    allowed = client.patch(f"/api/v1/courses/{course.id}", json={"pump_serial": "CS-9"},
                           headers=auth("dispatcher"))

    assert locked.status_code == 409
    assert "bag_interval_hours" in locked.json["errors"]["json"]
    assert allowed.status_code == 200 and allowed.json["pump_serial"] == "CS-9"


def test_courses_filter_by_site_and_status(client, auth, factory):
    site = factory.site()
    mine = factory.patient(site_id=site.id)
    factory.course(patient_id=mine.id)
    factory.course()

    response = client.get(f"/api/v1/courses?site_id={site.id}&status=scheduled",
                          headers=auth("viewer"))

    assert response.json["total"] == 1
    assert response.json["items"][0]["patient_id"] == mine.id


def test_courses_filter_by_the_patients_study_code(client, auth, factory):
    """How the README's walk-through finds W-001's course."""
    wanted = factory.course(patient_id=factory.patient(study_code="W-001").id)
    factory.course(patient_id=factory.patient(study_code="W-002").id)

    listed = client.get("/api/v1/courses?study_code=W-001", headers=auth("viewer")).json

    assert [item["id"] for item in listed["items"]] == [wanted.id]
