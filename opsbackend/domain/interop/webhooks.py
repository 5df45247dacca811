"""Outbound webhook events, written where the thing happens (the transactional outbox).

``emit`` adds one delivery row per active subscription of the site that wants the event,
in the caller's transaction, as SMS go into the outbox: the event leaves only if the change
that caused it commits, and is never lost once it has. The scheduler's webhook sender
(``webhook_sender``) signs and sends them. Bodies carry ids and study codes, never names.

The body follows the Standard Webhooks payload shape: ``{"type", "timestamp", "data"}``.
"""

import json
import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.clock import SystemClock
from opsbackend.models import WebhookDelivery, WebhookSubscription

EVENT_TYPES = (
    "visit.assigned",
    "visit.eta_changed",
    "visit.arrived",
    "visit.completed",
    "visit.cancelled",
    "bag.changed",
    "alert.raised",
    "alert.acknowledged",
    "alert.resolved",
    "contact.opted_out",
    "deviation.recorded",
)


def emit(session: Session, event_type: str, *, site_id: int | None, data: dict) -> int:
    """Queue the event for every active subscription of the site that wants it; returns
    how many. Costs one indexed query when the site has no subscriptions."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if site_id is None:
        return 0
    wanted = [
        row.id for row in session.execute(
            select(WebhookSubscription.id, WebhookSubscription.events).where(
                WebhookSubscription.site_id == site_id, WebhookSubscription.status == "active")
        )
        if event_type in row.events
    ]
    if not wanted:
        return 0
    # The session's clock, as for its audit events: the same "now" as the change itself.
    now = session.info.get("clock", SystemClock()).now()
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data},
                      default=_json_value, separators=(",", ":"), sort_keys=True)
    session.add_all(
        WebhookDelivery(subscription_id=subscription_id, message_id=new_message_id(),
                        event_type=event_type, body=body, next_attempt_at=now)
        for subscription_id in wanted
    )
    return len(wanted)


def subscribed_sites(session: Session, event_type: str, site_ids) -> set[int]:
    """Which of ``site_ids`` have an active subscription to ``event_type``: one query, so a
    burst of a thousand alerts asks once rather than once per alert."""
    return {
        row.site_id for row in session.execute(
            select(WebhookSubscription.site_id, WebhookSubscription.events).where(
                WebhookSubscription.site_id.in_(set(site_ids)),
                WebhookSubscription.status == "active")
        )
        if event_type in row.events
    }


def new_message_id() -> str:
    """The webhook-id: unique per message, the same on each of its retries."""
    return f"msg_{uuid.uuid4().hex}"


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
