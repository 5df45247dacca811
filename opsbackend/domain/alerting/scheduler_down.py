"""No scheduler leads: nothing raises alerts or sends SMS. Whoever notices (jobs/watch.py)
raises one alert per site, to its on-call phone, keyed by the last heartbeat so that one
outage alerts once however many processes notice it."""

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alert_batches, alerts
from opsbackend.models import Alert, OutboundMessage, Site


def raise_no_leader(session: Session, clock: Clock, last_heartbeat_at: datetime | None,
                    condition_at: datetime) -> list[alerts.Raised]:
    outage = last_heartbeat_at.isoformat() if last_heartbeat_at else "never"
    since = f"since {last_heartbeat_at:%Y-%m-%d %H:%M} UTC" if last_heartbeat_at else "yet"
    sites = session.scalars(select(Site).where(Site.active.is_(True),
                                               Site.on_call_phone.is_not(None))).all()
    return alert_batches.raise_alerts(session, clock, [
        dict(kind="scheduler_down", dedupe_key=f"scheduler_down:{site.id}:{outage}",
             site_id=site.id, condition_at=condition_at,
             summary=f"no scheduler has led {since}: nothing is being watched")
        for site in sites
    ])


def close_led_again(session: Session, clock: Clock) -> int:
    return alerts.resolve_where(session, clock, "a scheduler leads again",
                                Alert.kind == "scheduler_down")


def unsent_messages(session: Session) -> list[int]:
    """The queued SMS of open scheduler-down alerts: the watch sends them itself."""
    return list(session.scalars(
        select(OutboundMessage.id).join(Alert, Alert.id == OutboundMessage.alert_id)
        .where(Alert.kind == "scheduler_down", Alert.status == "open",
               OutboundMessage.status == "queued")
    ))
