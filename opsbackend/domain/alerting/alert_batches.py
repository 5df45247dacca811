"""Many alerts at once: a burst (two thousand bags going overdue at the same instant) is
raised in a handful of statements, not a dozen per alert.

The rules are ``alerts.raise_alert``'s: one alert per ``dedupe_key``, its first rung
messaged through the outbox with a key per (alert, step, phone). When another scheduler
raised some of the batch a moment ago, the unique key refuses the batch's insert and the
batch is raised one alert at a time instead, which skips those.
"""

from collections import Counter, defaultdict
from itertools import zip_longest

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts, conditions, escalation
from opsbackend.domain.interop import webhooks
from opsbackend.domain.interop.webhook_events import alert_event
from opsbackend.domain.messaging import outbox
from opsbackend.models import Alert, Nurse, Site, Visit


def raise_alerts(session: Session, clock: Clock, wanted: list[dict]) -> list[alerts.Raised]:
    """Raise each of ``wanted`` (``raise_alert``'s keywords) that has no alert yet, and
    message its first rung; returns those raised."""
    fresh = conditions.raisable(session, wanted)  # the keys raise_alert would use
    if not fresh:
        return []
    now = clock.now()
    ladders = {}
    rows = []
    for values in fresh:
        rung_key = (values["site_id"], values["kind"])
        if rung_key not in ladders:
            ladders[rung_key] = escalation.ladder_for(session, *rung_key)
        alert = Alert(**values | {"summary": values["summary"][:300]}, raised_at=now)
        alerts.advance(alert, ladders[rung_key], 0, now)
        rows.append(alert)
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:  # another scheduler raised some of them a moment ago
        raised = (alerts.raise_alert(session, clock, **values) for values in fresh)
        return [one for one in raised if one is not None]
    subscribed = webhooks.subscribed_sites(session, "alert.raised", {a.site_id for a in rows})
    for alert in rows:
        if alert.site_id in subscribed:
            alert_event(session, "alert.raised", alert)
    nurses = _nurses_by_unit(session, rows)
    # Held here, so that the session's (weak) identity map keeps them for the messages'
    # texts rather than reading a site again for every alert.
    sites = list(session.scalars(select(Site).where(Site.id.in_({a.site_id for a in rows}))))
    per_alert_messages = [alerts.rung_messages(
        session, alert, ladders[(alert.site_id, alert.kind)], 0, nurses) for alert in rows]
    # Queued (and so sent) round by round: every alert's first recipient, then every
    # alert's second, ...: in a burst each alert reaches someone as early as it can.
    messages = [message for round_ in zip_longest(*per_alert_messages)
                for message in round_ if message is not None]
    per_alert = Counter(message.alert_id for message in outbox.queue_messages(
        session, clock, messages))
    del sites
    return [alerts.Raised(alert, per_alert[alert.id]) for alert in rows]


def _nurses_by_unit(session: Session, rows: list[Alert]) -> dict[int, list[Nurse]]:
    """The active nurses of the units the alerts' visits are assigned to, in one query."""
    visit_ids = {alert.visit_id for alert in rows if alert.visit_id}
    if not visit_ids:
        return {}
    by_unit = defaultdict(list)
    for nurse in session.scalars(
        select(Nurse).where(Nurse.unit_id.in_(select(Visit.unit_id).where(Visit.id.in_(visit_ids))),
                            Nurse.active.is_(True)).order_by(Nurse.id)
    ):
        by_unit[nurse.unit_id].append(nurse)
    return by_unit
