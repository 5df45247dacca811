"""Pump status reports. A report older than the latest is stored, flagged, and changes nothing."""

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import Conflict, Invalid
from opsbackend.domain.infusion import interruptions
from opsbackend.domain.infusion.course_lifecycle import checked_time, hanging_bag
from opsbackend.domain.records import Page, get_or_404, paginate
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.models import Course, PumpReport

# Alarms after which the pump no longer infuses (low battery or reservoir low still run).
STOPPING_ALARMS = ("occlusion", "air_in_line", "reservoir_empty", "malfunction")
RATE_TOLERANCE = 0.05


def record_pump_report(
    session: Session, clock: Clock, course_id: int, data: dict,
    rules: TimelineRules = DEFAULT_RULES,
) -> tuple[PumpReport, bool]:
    """Store a report; returns it and whether it is new (False: same idempotency key seen)."""
    key = data.get("idempotency_key")
    if key is not None and (seen := _by_key(session, key)) is not None:
        return seen, False
    course = get_or_404(session, Course, course_id, for_update=True)
    if course.status not in ("active", "paused"):
        raise Conflict(
            f"course {course_id} is {course.status}; pump reports need an active or paused "
            "course", field="course_id", reason="course_not_active", status=course.status,
        )
    reported_at = checked_time(
        clock, data.get("reported_at"), rules, "reported_at", not_before=course.started_at
    )
    bag = hanging_bag(session, course)
    _check_volumes(data, bag.volume_ml if bag else course.bag_volume_ml)
    if data["status"] == "alarm" and not data.get("alarm_type"):
        raise Invalid("an alarm needs its alarm_type", field="alarm_type")
    report = PumpReport(
        **(data | {"reported_at": reported_at}),
        course_id=course.id,
        bag=bag,
        flags=_flags(session, course, data, reported_at),
    )
    if key is None:
        session.add(report)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(report)
        except IntegrityError:
            # The same key won a race with us: that report stands. Any other refusal (a
            # nurse that does not exist) is the caller's to answer, never a silent 201.
            seen = _by_key(session, key)
            if seen is None:
                raise
            return seen, False
    if "out_of_order" in report.flags:
        return report, True
    _apply_to_course(session, course, report, rules)
    if report.status == "running":
        alerts.resolve_course_alerts(
            session, clock, f"the pump reported running at {reported_at.isoformat()}",
            course.id, "pump_alarm_unresolved",
        )
    return report, True


def unresolved_alarm(session: Session, course_id: int) -> PumpReport | None:
    """The alarm that opened the condition, if no "running" report came after it."""
    last_running = session.scalar(
        select(func.max(PumpReport.reported_at)).where(
            PumpReport.course_id == course_id, PumpReport.status == "running"
        )
    )
    stmt = select(PumpReport).where(
        PumpReport.course_id == course_id, PumpReport.status == "alarm"
    )
    if last_running is not None:
        stmt = stmt.where(PumpReport.reported_at > last_running)
    return session.scalars(stmt.order_by(PumpReport.reported_at, PumpReport.id)).first()


def latest_report(session: Session, course_id: int) -> PumpReport | None:
    return session.scalars(
        select(PumpReport)
        .where(PumpReport.course_id == course_id)
        .order_by(PumpReport.reported_at.desc(), PumpReport.id.desc())
    ).first()


def list_reports(session: Session, course_id: int, *, page: int, page_size: int) -> Page:
    get_or_404(session, Course, course_id)
    stmt = (
        select(PumpReport)
        .where(PumpReport.course_id == course_id)
        .order_by(PumpReport.reported_at.desc(), PumpReport.id.desc())
    )
    return paginate(session, stmt, page, page_size)


def stops_infusion(report: PumpReport) -> bool:
    return report.status in ("paused", "stopped") or (
        report.status == "alarm" and report.alarm_type in STOPPING_ALARMS
    )


def _apply_to_course(session: Session, course: Course, report: PumpReport, rules) -> None:
    if course.status == "paused":
        return  # the clinical hold's interruption already stops the clock
    if stops_infusion(report):
        reason = f"pump_{report.status}" + (f":{report.alarm_type}" if report.alarm_type else "")
        interruptions.start_interruption(
            session, course, report.reported_at, reason, pump_report_id=report.id
        )
    elif report.status == "running":
        current = interruptions.open_interruption(session, course)
        if current is not None and current.reason.startswith("pump_"):
            interruptions.end_interruption(session, course, report.reported_at, rules)


# Built once, as every pump report reads it (see ``records._by_id``).
_NEWEST_REPORT_AT = select(func.max(PumpReport.reported_at)).where(
    PumpReport.course_id == bindparam("course_id"))


def _flags(session: Session, course: Course, data: dict, reported_at) -> list[str]:
    flags = []
    newest = session.scalar(_NEWEST_REPORT_AT, {"course_id": course.id})
    if newest is not None and newest > reported_at:
        flags.append("out_of_order")
    rate = data.get("rate_ml_per_hour")
    if rate is not None and abs(rate - course.rate_ml_per_hour) > course.rate_ml_per_hour * (
        RATE_TOLERANCE
    ):
        flags.append("rate_mismatch")
    return flags


def _check_volumes(data: dict, bag_volume: float | None) -> None:
    for field in ("volume_infused_ml", "volume_remaining_ml"):
        value = data.get(field)
        if value is None:
            continue
        if value < 0:
            raise Invalid(f"{field} cannot be below zero", field=field)
        if bag_volume is not None and value > bag_volume:
            raise Invalid(f"{field} is more than the bag holds ({bag_volume} mL)", field=field)


def _by_key(session: Session, key: str) -> PumpReport | None:
    return session.scalars(select(PumpReport).where(PumpReport.idempotency_key == key)).first()
