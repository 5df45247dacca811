"""The bag's clinical record: label, double check, custody chain, and the warnings a bag
change raises (expired, out of the fridge too long, temperature excursion, short volume)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from opsbackend.config import ConfigError, Settings
from opsbackend.domain.infusion import bag_custody
from opsbackend.domain.infusion.bag_limits import DEFAULT_TABLE
from opsbackend.models import Alert, Bag, CustodyEvent, Deviation
from tests.factories import count_rows
from tests.test_sms_check_ins import text

LIMITS_24H = DEFAULT_TABLE.for_bag("blinatumomab", 24)


@pytest.fixture
def visit_due(factory, clock):
    """A nurse on a unit at the change of a 24 h course's first bag."""
    unit = factory.unit()
    nurse = factory.nurse(unit_id=unit.id, phone="+12135550131")
    course = factory.active_course(
        patient_id=factory.patient(site_id=unit.site_id).id, bag_interval_hours=24)
    visit = factory.assigned_visit(course, unit.id)
    clock.advance(hours=23)
    return nurse, visit


def change(client, headers, course_id, **body):
    body.setdefault("no_flush_confirmed", True)
    return client.post(f"/api/v1/courses/{course_id}/bag-changes", json=body, headers=headers)


def release(client, headers, course_id, **body):
    body.setdefault("pharmacy_bag_id", "RX-0001")
    return client.post(f"/api/v1/courses/{course_id}/prepared-bags", json=body,
                       headers=headers)


def custody(client, headers, prepared_id, **body):
    return client.post(f"/api/v1/prepared-bags/{prepared_id}/custody", json=body,
                       headers=headers)


def test_an_expired_lot_is_recorded_with_its_warning_on_the_timeline(client, auth, factory,
                                                                    clock, database):
    course = factory.active_course(bag_interval_hours=24)
    nurse, checker = factory.nurse(), factory.nurse()
    clock.advance(hours=23)
    expired = clock.now() - timedelta(hours=2)

    response = change(client, auth("nurse"), course.id, nurse_id=nurse.id, lot="A1234",
                      expires_at=expired.isoformat(), pharmacy_bag_id="RX 55 / barcode 0042",
                      volume_ml=270, double_check_nurse_id=checker.id)
    timeline = client.get(f"/api/v1/patients/{course.patient_id}/timeline",
                          headers=auth("viewer")).json["entries"]

    assert response.status_code == 201, response.json
    new = response.json["new_bag"]
    assert (new["lot"], new["pharmacy_bag_id"], new["double_check_nurse_id"]) == (
        "A1234", "RX 55 / barcode 0042", checker.id)
    assert [w["code"] for w in response.json["warnings"]] == ["expired"]
    [hung] = [e for e in timeline if e["type"] == "bag_hung" and e["details"]["sequence"] == 2]
    assert "WARNING: expired" in hung["summary"] and hung["details"]["lot"] == "A1234"
    assert {"alert", "deviation"} <= {e["type"] for e in timeline if e["at"] == hung["at"]}
    with database.new_session() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == "bag_warning")).one()
        deviation = session.scalars(select(Deviation)).one()
    assert alert.bag_id == new["id"] and alert.status == "open"
    assert deviation.kind == "bag_expired" and deviation.evidence["lot"] == "A1234"


def test_a_temperature_excursion_in_the_chain_warns_when_the_bag_is_hung(client, auth,
                                                                         factory, clock,
                                                                         database):
    course = factory.active_course(bag_interval_hours=24)
    unit = factory.unit()
    released = release(client, auth("dispatcher"), course.id, lot="B77", volume_ml=270,
                       expires_at=(clock.now() + timedelta(days=5)).isoformat(),
                       handed_by="Pharmacist Lee", location="CHLA pharmacy")
    prepared_id = released.json["id"]
    clock.advance(hours=2)
    handed = custody(client, auth("nurse"), prepared_id, kind="handed_over", place="unit",
                     unit_id=unit.id, received_by="RN Park", temperature_c=5.0)
    clock.advance(hours=3)
    warm = custody(client, auth("nurse"), prepared_id, kind="temperature",
                   temperature_c=11.5)
    clock.advance(hours=18)

    response = change(client, auth("nurse"), course.id, pharmacy_bag_id="RX-0001")
    detail = client.get(f"/api/v1/prepared-bags/{prepared_id}", headers=auth("dispatcher"))
    seen_by_viewer = client.get(f"/api/v1/prepared-bags/{prepared_id}",
                                headers=auth("viewer")).json

    assert released.status_code == 201 and handed.status_code == 201, handed.json
    assert warm.status_code == 201
    assert [w["code"] for w in response.json["warnings"]] == ["temperature_excursion"]
    new = response.json["new_bag"]
    assert (new["lot"], new["volume_ml"], new["prepared_bag_id"]) == ("B77", 270, prepared_id)
    assert detail.json["status"] == "hung"
    assert [e["kind"] for e in detail.json["custody"]] == ["released", "handed_over",
                                                           "temperature", "hung"]
    assert detail.json["custody"][-1]["place"] == "home"
    assert detail.json["storage"]["excursions"][0]["celsius"] == 11.5
    assert detail.json["custody"][0]["handed_by"] == "Pharmacist Lee"
    assert "handed_by" not in seen_by_viewer["custody"][0]
    assert count_rows(database, Deviation, Deviation.kind == "bag_temperature_excursion") == 1


def test_too_long_out_of_the_fridge_counts_the_infusion_itself(client, auth, factory, clock):
    course = factory.active_course(bag_interval_hours=48)
    prepared_id = release(client, auth("dispatcher"), course.id).json["id"]
    clock.advance(hours=44)
    custody(client, auth("nurse"), prepared_id, kind="stored", storage="room",
            place="home")
    clock.advance(hours=3)  # 3 h at room temperature + 48 h of infusion > 48 h

    response = change(client, auth("nurse"), course.id, pharmacy_bag_id="RX-0001")

    [warning] = response.json["warnings"]
    assert warning["code"] == "room_time_exceeded" and warning["values"]["hours"] == 51


def test_a_bag_too_small_for_its_interval_is_a_warning_and_a_deviation(client, auth, factory,
                                                                      clock, database):
    course = factory.active_course(bag_interval_hours=24)  # 10 mL/h, 30 mL priming
    clock.advance(hours=23)

    enough = change(client, auth("nurse"), course.id, volume_ml=270)
    clock.advance(hours=23)
    short = change(client, auth("nurse"), course.id, volume_ml=250)

    assert enough.json["warnings"] == []
    [warning] = short.json["warnings"]
    assert warning["code"] == "volume_short" and warning["values"]["needed"] == 270
    assert count_rows(database, Deviation, Deviation.kind == "bag_volume_short") == 1


def test_a_warning_alert_closes_when_its_bag_comes_down(client, auth, factory, clock,
                                                        database):
    course = factory.active_course(bag_interval_hours=24)
    clock.advance(hours=23)
    change(client, auth("nurse"), course.id, volume_ml=100)
    clock.advance(hours=23)

    change(client, auth("nurse"), course.id, volume_ml=270)

    with database.new_session() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == "bag_warning")).one()
    assert alert.status == "resolved" and "taken down" in alert.resolution


@pytest.mark.parametrize("body,field", [
    ({"double_check_nurse_id": "same"}, "double_check_nurse_id"),
    ({"double_check_nurse_id": 999999}, "double_check_nurse_id"),
    ({"double_check_contact_id": "other patient's"}, "double_check_contact_id"),
    ({"double_check_nurse_id": "other", "double_check_contact_id": "own"},
     "double_check_contact_id"),
    ({"lot": "A 1"}, "lot"),
    ({"pharmacy_bag_id": "RX\u0000"}, "pharmacy_bag_id"),
])
def test_a_double_check_that_is_not_independent_is_refused(client, auth, factory, clock,
                                                           database, body, field):
    course = factory.active_course(bag_interval_hours=24)
    nurse, other = factory.nurse(), factory.nurse()
    own_contact = factory_contact(database, course.patient_id)
    stranger = factory_contact(database, factory.patient().id)
    values = {"same": nurse.id, "other": other.id, "own": own_contact,
              "other patient's": stranger}
    body = {key: values.get(value, value) for key, value in body.items()}
    clock.advance(hours=23)

    response = change(client, auth("nurse"), course.id, nurse_id=nurse.id, **body)

    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    assert count_rows(database, Bag) == 1  # nothing half-written


def test_a_caregiver_may_do_the_double_check(client, auth, factory, clock, database):
    course = factory.active_course(bag_interval_hours=24)
    contact_id = factory_contact(database, course.patient_id)
    clock.advance(hours=23)

    response = change(client, auth("nurse"), course.id, double_check_contact_id=contact_id)

    assert response.json["new_bag"]["double_check_contact_id"] == contact_id


def test_sms_changed_takes_a_lot_and_the_reply_gives_the_warnings(database, clock,
                                                                   visit_due):
    nurse, visit = visit_due

    reply = text(database, clock, nurse.phone, f"CHANGED V{visit.id} 240 LOT A1234 NOFLUSH")

    with database.new_session() as session:
        bag = session.scalars(select(Bag).where(Bag.sequence == 2)).one()
    assert (bag.lot, bag.volume_ml) == ("A1234", 240)
    assert "WARNING: 240 mL is less than the 270 mL it needs" in reply
    assert "Dispatch has been alerted" in reply


def test_spanish_lote_and_a_missing_lot_is_explained(database, clock, visit_due):
    nurse, visit = visit_due

    refused = text(database, clock, nurse.phone, f"CAMBIO V{visit.id} 270 LOTE")
    reply = text(database, clock, nurse.phone, f"cambio V{visit.id} lote b-77 270 sin lavar")

    assert "LOT A1234" in refused and count_rows(database, Bag) == 2
    assert "WARNING" not in reply
    with database.new_session() as session:
        assert session.scalars(select(Bag.lot).where(Bag.sequence == 2)).one() == "B-77"


def test_the_chain_is_closed_once_the_bag_is_hung(client, auth, factory, clock):
    course = factory.active_course(bag_interval_hours=24)
    prepared_id = release(client, auth("dispatcher"), course.id).json["id"]
    clock.advance(hours=23)
    change(client, auth("nurse"), course.id, pharmacy_bag_id="RX-0001")

    late = custody(client, auth("nurse"), prepared_id, kind="temperature", temperature_c=4)
    again = release(client, auth("dispatcher"), course.id)
    no_reading = custody(client, auth("nurse"), prepared_id, kind="temperature")

    assert late.status_code == 409 and again.status_code == 409
    assert no_reading.status_code == 409


def test_a_reading_needs_its_temperature_and_a_hand_over_its_receiver(client, auth, factory):
    course = factory.active_course(bag_interval_hours=24)
    prepared_id = release(client, auth("dispatcher"), course.id).json["id"]

    reading = custody(client, auth("nurse"), prepared_id, kind="temperature")
    hand_over = custody(client, auth("nurse"), prepared_id, kind="handed_over")
    viewer = custody(client, auth("viewer"), prepared_id, kind="temperature",
                     temperature_c=4)

    assert reading.status_code == 422 and "temperature_c" in reading.json["errors"]["json"]
    assert hand_over.status_code == 422 and "received_by" in hand_over.json["errors"]["json"]
    assert viewer.status_code == 403


def test_storage_summary_adds_up_room_and_fridge_time_and_finds_excursions(clock):
    t0 = clock.now()
    chain = [
        CustodyEvent(kind="released", occurred_at=t0, place="pharmacy", storage="fridge"),
        CustodyEvent(kind="temperature", occurred_at=t0 + timedelta(hours=1),
                     place="unit", temperature_c=1.0),
        CustodyEvent(kind="stored", occurred_at=t0 + timedelta(hours=2), place="home",
                     storage="room", temperature_c=26.0),
        CustodyEvent(kind="temperature", occurred_at=t0 + timedelta(hours=3), place="home",
                     temperature_c=28.5),
        CustodyEvent(kind="temperature", occurred_at=t0 + timedelta(hours=9), place="home",
                     temperature_c=40.0),  # after the hanging: not counted
    ]

    summary = bag_custody.storage_summary(chain, t0 + timedelta(hours=5), LIMITS_24H)

    assert summary.fridge_time == timedelta(hours=2)
    assert summary.room_time == timedelta(hours=3)
    assert [(c, s) for _, c, s in summary.excursions] == [(1.0, "fridge"), (28.5, "room")]


def test_bag_limits_are_configuration_checked_at_start():
    table = Settings(bag_limits='{"blinatumomab": {"48": {"room_hours": 60}}}').bag_limits_table()

    assert table.for_bag("blinatumomab", 48).room_hours == 60
    assert table.for_bag("blinatumomab", 48).priming_ml == 30  # the rest keeps its default
    assert table.for_bag("blinatumomab", 168).room_hours is None  # no source: off
    for bad in ("{", '{"blinatumomab": {"24": {"shelf_life": 1}}}', '{"x": {"week": {}}}'):
        with pytest.raises(ConfigError):
            Settings(bag_limits=bad).validate()


def factory_contact(database, patient_id) -> int:
    from opsbackend.models import Contact

    with database.new_session() as session:
        return session.scalars(select(Contact.id).where(Contact.patient_id == patient_id)
                               ).first()
