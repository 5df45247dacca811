"""STOP and START from any phone, and what they mean for safety.

Twilio blocks every SMS to a number that texted STOP (error 21610) until it texts START,
alerts included. A family contact's STOP is their choice; a nurse's phone or a site's
dispatch or on-call line that stopped means alerts cannot reach that person: the site's
dispatch gets a ``staff_opted_out`` alert (per site), resolved when the phone texts START.
"""

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.models import Alert, Nurse, Site, SmsOptOut, Unit


def record(session: Session, clock: Clock, phone: str, opted_out: bool) -> list[int]:
    """Record the phone's STOP (or START); returns the sites whose staff it cuts off (or
    reconnects)."""
    _remember(session, clock, phone, opted_out)
    sites = staff_sites(session, phone)
    if opted_out:
        for site_id, who in sites.items():
            alerts.raise_alert(
                session, clock, kind="staff_opted_out",
                dedupe_key=f"staff_opted_out:{site_id}:{phone}", site_id=site_id,
                summary=f"{who} ({phone}) texted STOP: SMS, alerts included, cannot reach "
                        "them until they text START", condition_at=clock.now())
    else:
        alerts.resolve_where(session, clock, "the phone texted START",
                             Alert.kind == "staff_opted_out",
                             Alert.dedupe_key.contains(f":{phone}", autoescape=True))
    return sorted(sites)


def is_opted_out(session: Session, phone: str) -> bool:
    return bool(session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone)))


def staff_sites(session: Session, phone: str) -> dict[int, str]:
    """The sites this phone is staff of: {site id: who it is}."""
    found: dict[int, str] = {}
    for site in session.scalars(select(Site).where(
            or_(Site.dispatch_phone == phone, Site.on_call_phone == phone))):
        found[site.id] = ("the dispatch line" if site.dispatch_phone == phone
                          else "the on-call phone")
    for nurse in session.scalars(select(Nurse).where(Nurse.phone == phone,
                                                     Nurse.active.is_(True))):
        unit_site = (session.scalar(select(Unit.site_id).where(Unit.id == nurse.unit_id))
                     if nurse.unit_id else None)
        for site_id in {nurse.site_id, unit_site} - {None}:
            found.setdefault(site_id, f"nurse {nurse.id}")
    return found


def _remember(session: Session, clock: Clock, phone: str, opted_out: bool) -> None:
    row = session.scalars(select(SmsOptOut).where(SmsOptOut.phone == phone)).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(SmsOptOut(phone=phone, opted_out=opted_out, changed_at=clock.now()))
            return
        except IntegrityError:  # a parallel STOP from the same phone
            row = session.scalars(select(SmsOptOut).where(SmsOptOut.phone == phone)).one()
    if row.opted_out != opted_out:
        row.opted_out, row.changed_at = opted_out, clock.now()
