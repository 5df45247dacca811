"""The webhook sender: one scheduler pass signs and POSTs the deliveries that are due.

Never two senders on one delivery: a pass claims its rows (``sending``, committed,
``FOR UPDATE SKIP LOCKED`` on PostgreSQL) before calling anyone. A row left ``sending``
by a crash goes back to the queue after ``STUCK_AFTER`` and is sent again with the same
webhook-id, which receivers use to drop the duplicate (at-least-once, as the Standard
Webhooks specification expects). A failed attempt retries with exponential backoff and
holds the subscription's other deliveries behind it, so a receiver that is down is tried
once per backoff step, not once per event; after ``disable_after_failures`` failed
attempts in a row the subscription is disabled, its queue cancelled, and an alert
raised for the site's admins.
"""

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select, update
from standardwebhooks.webhooks import Webhook

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.interop.webhook_subscriptions import cancel_queued, disabled_alert_key
from opsbackend.models import WebhookDelivery, WebhookSubscription
from opsbackend.webhooks.targets import TargetPolicy
from opsbackend.webhooks.transport import DeliveryError, HttpTransport

log = logging.getLogger("opsbackend.webhooks")
DELIVERIES = WebhookDelivery.__table__
SUBSCRIPTIONS = WebhookSubscription.__table__
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class SenderSettings:
    """From WEBHOOK_* settings: 12 attempts span about 5 hours; 30 failures in a row,
    about half a day of a receiver answering nothing but errors, disable it."""

    policy: TargetPolicy = field(default_factory=TargetPolicy)
    max_attempts: int = 12
    disable_after_failures: int = 30
    timeout_seconds: float = 10.0

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(seconds=self.timeout_seconds + 60)


@dataclass
class SendSummary:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    reaped: int = 0
    disabled: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    subscription_id: int
    message_id: str
    body: str
    attempts: int
    url: str
    secret: str


@dataclass(frozen=True)
class _Attempt:
    delivery: _Claimed
    at: datetime
    status: int | None
    error: str | None


def send_due(database, clock: Clock, settings: SenderSettings = SenderSettings(),
             transport=None, batch_size: int = 50) -> SendSummary:
    """One pass. It costs three transactions whatever the batch's size: the reaper's, the
    claim, and the record of every attempt at the end."""
    transport = transport or HttpTransport(settings.policy, settings.timeout_seconds)
    summary = SendSummary(reaped=_reap_stuck(database, clock, settings))
    batch = _claim(database, clock, batch_size)
    summary.claimed = len(batch)
    attempts: list[_Attempt] = []
    failing: set[int] = set()
    try:
        for delivery in batch:
            if delivery.subscription_id in failing:
                continue  # its receiver just failed: the rest wait behind that one
            attempts.append(_post(transport, clock, delivery))
            if attempts[-1].error is not None:
                failing.add(delivery.subscription_id)
    finally:
        # Also when the pass dies half-way: what went out is recorded, not left to the
        # reaper; what was not tried goes back to the queue.
        tried = {attempt.delivery.id for attempt in attempts}
        _record(database, clock, settings, attempts,
                [d.id for d in batch if d.id not in tried], summary)
    return summary


def sign(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers: ``v1,`` + base64 HMAC-SHA256 of "id.timestamp.body"."""
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, at, body)}


def backoff(attempts: int, rng=random.random) -> timedelta:
    delay = min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return delay / 2 + delay / 2 * rng()


def _claim(database, clock: Clock, limit: int) -> list[_Claimed]:
    now = clock.now()
    active = exists().where(SUBSCRIPTIONS.c.id == DELIVERIES.c.subscription_id,
                            SUBSCRIPTIONS.c.status == "active")
    with database.transaction(actor="webhooks") as session:
        due = (select(DELIVERIES.c.id)
               .where(DELIVERIES.c.status == "queued", DELIVERIES.c.next_attempt_at <= now,
                      active)
               .order_by(DELIVERIES.c.id).limit(limit)
               # PostgreSQL; SQLite writers take turns
               .with_for_update(skip_locked=True, key_share=True))
        rows = session.execute(
            update(DELIVERIES)
            # status again: a second sender's claim on SQLite finds nothing left to take.
            .where(DELIVERIES.c.id.in_(due.scalar_subquery()), DELIVERIES.c.status == "queued")
            .values(status="sending", claimed_at=now, attempts=DELIVERIES.c.attempts + 1,
                    updated_at=now)
            .returning(DELIVERIES.c.id, DELIVERIES.c.subscription_id,
                       DELIVERIES.c.message_id, DELIVERIES.c.body, DELIVERIES.c.attempts)
        ).all()
        targets = {row.id: row for row in session.execute(
            select(SUBSCRIPTIONS.c.id, SUBSCRIPTIONS.c.url, SUBSCRIPTIONS.c.secret)
            .where(SUBSCRIPTIONS.c.id.in_({row.subscription_id for row in rows}))
        )} if rows else {}
    return sorted((_Claimed(row.id, row.subscription_id, row.message_id, row.body,
                            row.attempts, targets[row.subscription_id].url,
                            targets[row.subscription_id].secret) for row in rows),
                  key=lambda claimed: claimed.id)


def _post(transport, clock: Clock, delivery: _Claimed) -> _Attempt:
    at = clock.now()
    headers = sign(delivery.secret, delivery.message_id, at, delivery.body)
    try:
        status = transport.post(delivery.url, delivery.body.encode(), headers)
    except DeliveryError as exc:
        return _Attempt(delivery, at, None, str(exc))
    return _Attempt(delivery, at, status, None if 200 <= status < 300 else f"HTTP {status}")


def _record(database, clock, settings, attempts: list[_Attempt], untried: list[int],
            summary: SendSummary) -> None:
    if not (attempts or untried):
        return
    with database.transaction(actor="webhooks") as session:
        _release(session, untried)
        summary.released = len(untried)
        delivered = [attempt for attempt in attempts if attempt.error is None]
        if delivered:
            session.connection().execute(
                update(DELIVERIES).where(DELIVERIES.c.id == bindparam("delivery_id"))
                .values(status="delivered", delivered_at=bindparam("at"),
                        last_attempt_at=bindparam("at"), last_response_status=bindparam("code"),
                        last_error=None, updated_at=clock.now()),
                [{"delivery_id": a.delivery.id, "at": a.at, "code": a.status}
                 for a in delivered])
            # A receiver that answered is not failing, whatever it did before.
            session.execute(update(SUBSCRIPTIONS)
                            .where(SUBSCRIPTIONS.c.id.in_({a.delivery.subscription_id
                                                           for a in delivered}),
                                   SUBSCRIPTIONS.c.consecutive_failures != 0)
                            .values(consecutive_failures=0))
            summary.delivered = len(delivered)
        for attempt in attempts:
            if attempt.error is not None:
                outcome = _record_failure(session, clock, settings, attempt, summary)
                setattr(summary, outcome, getattr(summary, outcome) + 1)


def _record_failure(session, clock, settings, attempt: _Attempt, summary) -> str:
    row = session.get(WebhookDelivery, attempt.delivery.id)
    subscription = session.get(WebhookSubscription, row.subscription_id,
                               with_for_update={"key_share": True})
    row.last_attempt_at, row.last_response_status = attempt.at, attempt.status
    row.last_error = attempt.error[:500]
    subscription.consecutive_failures += 1
    if subscription.status != "active":  # deleted or disabled while this one was out
        row.status = "cancelled"
        return "failed"
    gave_up = row.attempts >= settings.max_attempts
    row.status = "failed" if gave_up else "queued"
    row.next_attempt_at = None if gave_up else clock.now() + backoff(row.attempts)
    session.flush()
    if not gave_up:
        _hold_behind(session, subscription.id, row.next_attempt_at)
    log.warning("webhook delivery failed", extra={
        "delivery_id": row.id, "subscription_id": subscription.id, "error": row.last_error,
        "attempts": row.attempts, "gave_up": gave_up})
    if subscription.consecutive_failures >= settings.disable_after_failures:
        _disable(session, clock, subscription)
        summary.disabled += 1
    return "failed" if gave_up else "retried"


def _hold_behind(session, subscription_id: int, until: datetime) -> None:
    """The subscription's other queued deliveries wait for the failed one's next try."""
    session.execute(
        update(DELIVERIES)
        .where(DELIVERIES.c.subscription_id == subscription_id,
               DELIVERIES.c.status == "queued", DELIVERIES.c.next_attempt_at < until)
        .values(next_attempt_at=until)
    )


def _disable(session, clock: Clock, subscription: WebhookSubscription) -> None:
    now = clock.now()
    subscription.status = "disabled"
    subscription.disabled_at = now
    subscription.disabled_reason = (f"{subscription.consecutive_failures} failed attempts "
                                    "in a row")
    cancel_queued(session, clock, subscription.id)
    session.flush()
    alerts.raise_alert(
        session, clock, kind="webhook_disabled", site_id=subscription.site_id,
        dedupe_key=f"{disabled_alert_key(subscription.id)}:{now.isoformat()}",
        severity="medium", notify=False,
        summary=f"webhook subscription {subscription.id} disabled after "
                f"{subscription.consecutive_failures} failed attempts in a row: fix the "
                f"receiver, then POST /webhooks/{subscription.id}/enable",
    )


def _release(session, delivery_ids: list[int]) -> None:
    """Claimed but not tried in this pass: back in the queue, the attempt not counted."""
    if delivery_ids:
        session.execute(update(DELIVERIES)
                        .where(DELIVERIES.c.id.in_(delivery_ids),
                               DELIVERIES.c.status == "sending")
                        .values(status="queued", attempts=DELIVERIES.c.attempts - 1))


def _reap_stuck(database, clock: Clock, settings: SenderSettings) -> int:
    """Rows a crashed pass left ``sending``: queued again, to go with the same webhook-id."""
    now = clock.now()
    with database.transaction(actor="webhooks") as session:
        stuck = session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.status == "sending",
                   DELIVERIES.c.claimed_at <= now - settings.stuck_after)
            .values(status="queued", next_attempt_at=now, updated_at=now)
            .returning(DELIVERIES.c.id)
        ).all()
    return len(stuck)

