"""The clinical record of a bag as it is hung: its label, the independent double check,
the end of its custody chain, and what was wrong with it.

Called from ``bags.change_bag`` once the new bag hangs. A warning never refuses the change
(the bag is on the pump: the record must say so); each is a deviation, together they are
one alert to the dispatcher, and they reach the nurse in the reply. The limits come from
``bag_limits`` (configuration; sources cited there).
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import Invalid
from opsbackend.domain.history.deviations import record_deviation
from opsbackend.domain.infusion import bag_custody
from opsbackend.domain.infusion.bag_limits import BagLimits
from opsbackend.domain.interop import webhook_events
from opsbackend.models import Alert, Bag, Contact, Course, Nurse, Patient, PreparedBag

WARNING_CODES = ("expired", "room_time_exceeded", "storage_time_exceeded",
                 "temperature_excursion", "volume_short")


@dataclass(frozen=True)
class BagLabel:
    """What the nurse reads off the new bag (or scans), and who checked it with them."""

    lot: str | None = None
    expires_at: datetime | None = None
    pharmacy_bag_id: str | None = None
    double_check_nurse_id: int | None = None
    double_check_contact_id: int | None = None


@dataclass(frozen=True)
class BagWarning:
    code: str
    message: str
    # The numbers in the message, for the texts in the nurse's language.
    values: dict


def record_hung_bag(session: Session, clock: Clock, course: Course, old: Bag, new: Bag,
                    label: BagLabel, limits: BagLimits, unit_id: int | None = None
                    ) -> list[BagWarning]:
    """Write the new bag's label, double check and warnings; then the bag.changed event."""
    patient = session.get(Patient, course.patient_id)
    _check_double_check(session, patient, label, new.hung_by_nurse_id)
    prepared = bag_custody.find_for_label(session, course, label.pharmacy_bag_id, label.lot)
    if prepared is not None and prepared.status != "in_custody":
        raise Invalid(f"bag {prepared.pharmacy_bag_id} is already {prepared.status}",
                      field="pharmacy_bag_id")
    _write_label(new, label, prepared)
    summary = None
    if prepared is not None:
        summary = bag_custody.storage_summary(bag_custody.events_of(session, prepared.id),
                                              new.hung_at, limits)
        bag_custody.mark_hung(session, prepared, new.hung_at, new.hung_by_nurse_id, unit_id)
    warnings = bag_warnings(course, new, prepared, summary, limits)
    new.warnings = [asdict(warning) for warning in warnings]
    session.flush()
    for warning in warnings:
        record_deviation(
            session, kind=f"bag_{warning.code}", dedupe_key=f"bag_{warning.code}:{new.id}",
            patient=patient, occurred_at=new.hung_at, course_id=course.id, bag_id=new.id,
            evidence={"bag_id": new.id, "sequence": new.sequence, "lot": new.lot,
                      "pharmacy_bag_id": new.pharmacy_bag_id, "warning": warning.message}
            | warning.values,
        )
    # The bag a warning was about is down: that danger is gone.
    alerts.resolve_where(session, clock, f"bag {old.sequence} taken down",
                         Alert.kind == "bag_warning", Alert.bag_id == old.id)
    if warnings:
        alerts.raise_alert(
            session, clock, kind="bag_warning", dedupe_key=f"bag_warning:bag:{new.id}",
            site_id=patient.site_id, patient_id=patient.id, course_id=course.id, bag_id=new.id,
            summary=f"{patient.study_code}: bag {new.sequence} hung with "
                    + "; ".join(warning.message for warning in warnings),
        )
    webhook_events.bag_changed(session, course, old, new)
    return warnings


def bag_warnings(course: Course, bag: Bag, prepared: PreparedBag | None,
                 summary: bag_custody.StorageSummary | None,
                 limits: BagLimits) -> list[BagWarning]:
    """What is wrong with this bag as it is hung (pure: everything is given)."""
    at, infusion = bag.hung_at, timedelta(hours=course.bag_interval_hours)
    warnings = []
    if bag.expires_at is not None and at > bag.expires_at:
        warnings.append(BagWarning("expired", f"expired {bag.expires_at.isoformat()}",
                                   {"expired": bag.expires_at.date().isoformat()}))
    if summary is not None and limits.room_hours is not None:
        room = _hours(summary.room_time + infusion)
        if room > limits.room_hours:
            warnings.append(BagWarning(
                "room_time_exceeded", f"{room} h at room temperature counting its infusion "
                f"(limit {limits.room_hours:g} h)", {"hours": room, "limit": limits.room_hours}))
    stored_since = prepared.prepared_at if prepared is not None else None
    if stored_since is not None and limits.fridge_days is not None:
        days = round((at - stored_since + infusion) / timedelta(days=1), 1)
        if days > limits.fridge_days:
            warnings.append(BagWarning(
                "storage_time_exceeded", f"{days} days since preparation counting its "
                f"infusion (limit {limits.fridge_days:g} days)",
                {"days": days, "limit": limits.fridge_days}))
    if summary is not None and summary.excursions:
        when, celsius, storage = summary.excursions[0]
        warnings.append(BagWarning(
            "temperature_excursion", f"{celsius:g} °C in the {storage} at {when.isoformat()}"
            f" ({len(summary.excursions)} reading(s) out of range)",
            {"celsius": celsius, "readings": len(summary.excursions)}))
    needed = round(course.rate_ml_per_hour * course.bag_interval_hours + limits.priming_ml, 1)
    if bag.volume_ml is not None and bag.volume_ml < needed:
        warnings.append(BagWarning(
            "volume_short", f"{bag.volume_ml:g} mL cannot last {course.bag_interval_hours} h "
            f"at {course.rate_ml_per_hour:g} mL/h with priming ({needed:g} mL needed)",
            {"volume": bag.volume_ml, "needed": needed}))
    return warnings


def _write_label(bag: Bag, label: BagLabel, prepared: PreparedBag | None) -> None:
    """The label as read at the change; what it leaves out comes from the pharmacy's
    release of the same bag."""
    bag.lot = label.lot or (prepared.lot if prepared else None)
    bag.expires_at = label.expires_at or (prepared.expires_at if prepared else None)
    bag.pharmacy_bag_id = label.pharmacy_bag_id or (prepared.pharmacy_bag_id if prepared
                                                    else None)
    bag.prepared_bag_id = prepared.id if prepared else None
    if prepared is not None and prepared.volume_ml is not None and bag.volume_ml is None:
        bag.volume_ml = prepared.volume_ml
    bag.double_check_nurse_id = label.double_check_nurse_id
    bag.double_check_contact_id = label.double_check_contact_id


def _check_double_check(session: Session, patient: Patient, label: BagLabel,
                        nurse_id: int | None) -> None:
    """Independent: a second nurse (not the one changing the bag), or a caregiver of this
    patient; never both."""
    nurse_id_checked, contact_id = label.double_check_nurse_id, label.double_check_contact_id
    if nurse_id_checked is not None and contact_id is not None:
        raise Invalid("the double check is a second nurse or a caregiver, not both",
                      field="double_check_contact_id")
    if nurse_id_checked is not None:
        checker = session.get(Nurse, nurse_id_checked)
        if checker is None or not checker.active:
            raise Invalid(f"there is no active nurse {nurse_id_checked}",
                          field="double_check_nurse_id")
        if nurse_id_checked == nurse_id:
            raise Invalid("the double check must be done by another nurse than the one "
                          "changing the bag", field="double_check_nurse_id")
    if contact_id is not None and session.scalars(
            select(Contact.id).where(Contact.id == contact_id,
                                     Contact.patient_id == patient.id)).first() is None:
        raise Invalid(f"contact {contact_id} is not a caregiver of this patient",
                      field="double_check_contact_id")


def _hours(delta: timedelta) -> float:
    return round(delta.total_seconds() / 3600, 1)
