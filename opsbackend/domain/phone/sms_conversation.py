"""What an inbound SMS means and what we answer, by who sent it.

Nurses (by their registered phone) check in and acknowledge alerts; the
dispatch desk and on-call phones acknowledge alerts; family contacts confirm,
ask for a call, get help, opt out and back in. Every answer says what was
recorded, or exactly what was not understood and the right form.
"""

from dataclasses import dataclass, replace

from sqlalchemy import or_, select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import DomainError
from opsbackend.domain.history.audit import act_as
from opsbackend.domain.infusion.bag_record import BagLabel
from opsbackend.domain.infusion.course_lifecycle import hanging_bag
from opsbackend.domain.messaging import callbacks, outbox, templates
from opsbackend.domain.phone import check_ins, sms_commands
from opsbackend.domain.phone.check_ins import Caller, NoCurrentVisit, SeveralCurrentVisits
from opsbackend.domain.registry import nurses
from opsbackend.domain.rules import DEFAULT_RULES, TimelineRules
from opsbackend.domain.scope import Scope
from opsbackend.models import (
    Bag,
    Contact,
    InboundMessage,
    Nurse,
    Patient,
    Site,
    Visit,
)

CHECK_IN_VERBS = ("arrived", "changed", "pump", "done")


@dataclass(frozen=True)
class Reply:
    text: str
    handled_as: str
    # Who sent it, when we know: stored on the inbound message with the reply.
    nurse_id: int | None = None
    contact_id: int | None = None
    # A refused check-in: the caller rolls back whatever it began and keeps only the
    # message and this reply (cheaper than a savepoint around every check-in).
    undo_changes: bool = False


def handle_sms(
    session: Session, clock: Clock, inbound: InboundMessage,
    rules: TimelineRules = DEFAULT_RULES,
) -> Reply:
    phone = inbound.from_phone
    nurse = nurses.active_by_phone(session, phone)
    if nurse is not None:
        act_as(session, f"nurse:{nurse.id} via sms")
        return replace(_from_nurse(session, clock, nurse, inbound, rules), nurse_id=nurse.id)
    if _is_staff_line(session, phone):
        act_as(session, f"phone:{phone} via sms")
        return _from_staff_line(session, clock, inbound)
    contacts = session.scalars(select(Contact).where(Contact.phone == phone)).all()
    if contacts:
        act_as(session, f"contact:{contacts[0].id} via sms")
        return replace(_from_family(session, clock, contacts, inbound),
                       contact_id=contacts[0].id)
    verb = _verb(inbound.body)
    if verb in ("stop", "start"):  # recorded whoever it is from: Twilio blocks them anyway
        outbox.set_opt_out(session, clock, phone, verb == "stop")
        return Reply(templates.render(f"family.{'stopped' if verb == 'stop' else 'started'}",
                                      "en"), "opt_out" if verb == "stop" else "opt_in")
    return Reply(templates.render("unknown_sender", "en"), "unknown_sender")


def _verb(body: str) -> str | None:
    try:
        return sms_commands.parse(body).verb
    except sms_commands.NotUnderstood:
        return None


def _staff_stop_or_start(session, clock, phone: str, verb: str, language: str) -> Reply:
    """A staff phone's STOP cuts it off from alerts (Twilio blocks them): its site's
    dispatch is alerted, and the reply says so. START lifts it."""
    stopping = verb == "stop"
    outbox.set_opt_out(session, clock, phone, stopping)
    return Reply(templates.render("staff.stopped" if stopping else "staff.started", language),
                 "opt_out" if stopping else "opt_in")


def _from_nurse(session, clock, nurse: Nurse, inbound, rules) -> Reply:
    language = nurse.language
    try:
        command = sms_commands.parse(inbound.body)
    except sms_commands.NotUnderstood as exc:
        return _not_understood(exc, language)
    if command.verb == "help":
        return Reply(templates.render("nurse.help", language), "help")
    if command.verb in ("stop", "start"):
        return _staff_stop_or_start(session, clock, inbound.from_phone, command.verb, language)
    if command.verb == "ack":
        return _acknowledge(session, clock, inbound.from_phone, command, language,
                            Scope(role="nurse", site_ids=check_ins.nurse_sites(session, nurse),
                                  nurse_id=nurse.id))
    if command.verb not in CHECK_IN_VERBS:
        return Reply(templates.render("nurse.help", language), "help")
    caller = Caller(channel="sms", phone=inbound.from_phone, inbound_message_id=inbound.id,
                    override=command.override)
    try:
        if command.verb == "done":
            visit = check_ins.leaving_visit(session, clock, nurse, command.visit_id)
        else:
            visit = check_ins.resolve_visit(session, clock, nurse, command.visit_id,
                                            override=command.override)
        text = _check_in(session, clock, nurse, visit, caller, command, language, rules)
    except (SeveralCurrentVisits, NoCurrentVisit) as exc:  # the code would settle it
        return _refused(templates.refusal(exc, language), command.verb, language)
    except DomainError as exc:
        return _refused(templates.refusal(exc, language), command.verb, language,
                        with_usage=False)
    return Reply(text, f"check_in:{command.verb}")


def _check_in(session, clock, nurse, visit, caller, command, language, rules) -> str:
    study_code, timezone = check_ins.visit_place(session, visit)
    values = {"study_code": study_code, "visit_id": visit.id,
              "time": templates.local_time(clock.now(), timezone, language)}
    if command.verb == "arrived":
        check_ins.arrive(session, clock, nurse, visit, caller)
        course = check_ins.course_of(session, visit)
        bag = hanging_bag(session, course) if course is not None else None
        return templates.render("nurse.arrived", language, **values,
                                **_bag_values(bag, timezone, language))
    if command.verb == "changed":
        _check_in_row, change = check_ins.change_bag(
            session, clock, nurse, visit, caller, volume_ml=command.volume_ml,
            no_flush=True if command.no_flush else None, rules=rules,
            label=BagLabel(lot=command.lot))
        minutes_late = int((change.old_bag.changed_at - change.old_bag.due_at).total_seconds()
                           // 60)
        late = (templates.render("nurse.late_note", language, minutes=minutes_late)
                if minutes_late > 0 else "")
        return templates.render(
            "nurse.changed", language, time=values["time"], late=late,
            old_sequence=change.old_bag.sequence, new_sequence=change.new_bag.sequence,
            due=templates.local_time(change.new_bag.due_at, timezone, language)
        ) + _bag_warnings_note(change, language)
    if command.verb == "pump":
        _check_in_row, report = check_ins.report_pump(
            session, clock, nurse, visit, caller, status=command.pump_status,
            alarm_type=command.alarm_type, battery_pct=command.battery_pct, rules=rules)
        status = templates.pump_state(command.pump_status, command.alarm_type, language)
        note = templates.render("nurse.alarm_note", language) if command.alarm_type else ""
        return templates.render("nurse.pump", language, **values, status=status,
                                alarm_note=note, **_bag_values(report.bag, timezone, language))
    check_ins.depart(session, clock, nurse, visit, caller)
    return templates.render("nurse.done", language, **values)


def _acknowledge(session, clock, phone, command, language, scope: Scope) -> Reply:
    """The newest open alert messaged to this phone (or the one named), of the sites the
    sender works for: an SMS forwarded to another site's nurse acknowledges nothing."""
    candidates = alerts.open_alerts_messaged_to(session, phone, scope)
    if command.alert_id is not None:
        candidates = [a for a in candidates if a.id == command.alert_id]
    if not candidates:
        return Reply(templates.render("ack.none", language), "ack:none")
    alert = alerts.acknowledge(session, clock, candidates[0].id,
                               session.info.get("actor", "sms"), scope)
    return Reply(templates.render("alert.acknowledged", language, alert_ref=f"A{alert.id}"),
                 "ack")


def _from_staff_line(session, clock, inbound) -> Reply:
    try:
        command = sms_commands.parse(inbound.body)
    except sms_commands.NotUnderstood:
        command = None
    if command is not None and command.verb in ("stop", "start"):
        return _staff_stop_or_start(session, clock, inbound.from_phone, command.verb, "en")
    if command is None or command.verb != "ack":
        return Reply(templates.render("nurse.not_understood", "en", problem="only ACK is read "
                                      "from this line", usage="ACK or ACK A12."), "staff:other")
    return _acknowledge(session, clock, inbound.from_phone, command, "en",
                        Scope(role="dispatcher", site_ids=_sites_of_line(session,
                                                                         inbound.from_phone)))


def _from_family(session, clock, contacts: list[Contact], inbound) -> Reply:
    contact = contacts[0]
    language = contact.language
    try:
        verb = sms_commands.parse(inbound.body).verb
    except sms_commands.NotUnderstood:
        verb = None
    if verb == "stop":
        outbox.set_opt_out(session, clock, contact.phone, True)
        return Reply(templates.render("family.stopped", language), "opt_out")
    if verb == "start":
        outbox.set_opt_out(session, clock, contact.phone, False)
        return Reply(templates.render("family.started", language), "opt_in")
    patient = session.get(Patient, contact.patient_id)
    site = session.get(Site, patient.site_id)
    if verb == "help":
        phone = site.dispatch_phone or site.on_call_phone or ""
        return Reply(templates.render("family.help", language, phone=phone), "help")
    if verb == "yes":
        return _confirm_visit(session, clock, contact, patient, site)
    if verb == "call":
        callbacks.request_callback(session, clock, contact, patient, inbound)
        return Reply(templates.render("family.call", language), "callback")
    return Reply(templates.render("family.not_understood", language), "not_understood")


def _confirm_visit(session, clock, contact, patient, site) -> Reply:
    visit = session.scalars(
        select(Visit).where(
            Visit.patient_id == patient.id,
            Visit.status.in_(("unassigned", "assigned", "en_route")),
            Visit.window_end >= clock.now(),
        ).order_by(Visit.window_start)
    ).first()
    zone = contact.timezone or site.timezone
    if visit is None:
        return Reply(templates.render("family.no_visit", contact.language), "confirm:none")
    visit.family_confirmed_at = clock.now()
    session.flush()
    return Reply(templates.render(
        "family.confirmed", contact.language,
        day=templates.local_day(visit.window_start, zone, contact.language),
        start=templates.local_clock(visit.window_start, zone, contact.language),
        end=templates.local_clock(visit.window_end, zone, contact.language)), "confirm")


def _sites_of_line(session, phone: str) -> frozenset[int]:
    return frozenset(session.scalars(
        select(Site.id).where(or_(Site.dispatch_phone == phone, Site.on_call_phone == phone))))


def _is_staff_line(session, phone: str) -> bool:
    return session.scalars(
        select(Site.id).where(or_(Site.dispatch_phone == phone, Site.on_call_phone == phone))
    ).first() is not None


def _bag_values(bag: Bag | None, timezone: str, language: str) -> dict:
    if bag is None:
        return {"sequence": "-", "due": "-"}
    return {"sequence": bag.sequence,
            "due": templates.local_time(bag.due_at, timezone, language)}


def _bag_warnings_note(change, language: str) -> str:
    """The new bag's problems (expired, too long out of the fridge, ...), if any."""
    if not change.warnings:
        return ""
    return templates.render("nurse.bag_warnings", language, warnings=templates.bag_warnings(
        change.new_bag.warnings, language))


def _not_understood(exc: sms_commands.NotUnderstood, language: str) -> Reply:
    return Reply(templates.render(
        "nurse.not_understood", language,
        problem=templates.problem(exc.problem, language, exc.detail),
        usage=templates.usage(exc.verb, language)), f"not_understood:{exc.problem}")


def _refused(problem: str, verb, language: str, with_usage: bool = True) -> Reply:
    if with_usage:
        text = templates.render("nurse.not_understood", language, problem=problem,
                                usage=templates.usage(verb, language))
    else:
        text = templates.render("nurse.not_recorded", language, problem=problem)
    return Reply(text, f"refused:{verb}", undo_changes=True)
