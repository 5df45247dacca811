"""Webhook subscriptions per site, and each one's delivery log.

The secret (``whsec_`` + base64 of 32 random bytes, as Standard Webhooks writes it) is
returned once, when the subscription is created; it is kept to sign deliveries and is
redacted from the audit trail. Deleting a subscription cancels what it had queued;
its delivery log stays.
"""

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.alerting import alerts
from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.interop.webhooks import EVENT_TYPES
from opsbackend.domain.records import Page, paginate
from opsbackend.domain.scope import Scope
from opsbackend.models import Alert, Site, WebhookDelivery, WebhookSubscription
from opsbackend.webhooks.targets import TargetPolicy, TargetRefused, check_url

SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Created:
    subscription: WebhookSubscription
    secret: str


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def create_subscription(session: Session, scope: Scope, data: dict, policy: TargetPolicy,
                        created_by: str | None = None) -> Created:
    site_id = data["site_id"]
    if not scope.covers(site_id) or session.get(Site, site_id) is None:
        raise Invalid(f"Site {site_id} does not exist", field="site_id")
    unknown = sorted(set(data["events"]) - set(EVENT_TYPES))
    if unknown:
        raise Invalid(f"unknown events {', '.join(unknown)}", field="events")
    try:
        check_url(data["url"], policy)
    except TargetRefused as exc:
        raise Invalid(str(exc), field="url") from exc
    secret = new_secret()
    subscription = WebhookSubscription(
        site_id=site_id, url=data["url"], events=sorted(set(data["events"])), secret=secret,
        description=data.get("description"), created_by=created_by,
    )
    session.add(subscription)
    session.flush()
    return Created(subscription, secret)


def list_subscriptions(session: Session, scope: Scope, *, page: int, page_size: int,
                       site_id: int | None = None, status: str | None = None) -> Page:
    stmt = (select(WebhookSubscription)
            .where(scope.where(WebhookSubscription.site_id),
                   WebhookSubscription.status == status if status
                   else WebhookSubscription.status != "deleted")
            .order_by(WebhookSubscription.id))
    if site_id is not None:
        stmt = stmt.where(WebhookSubscription.site_id == site_id)
    return paginate(session, stmt, page, page_size)


def get_subscription(session: Session, scope: Scope, subscription_id: int, *,
                     for_update: bool = False) -> WebhookSubscription:
    stmt = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
    if for_update:
        stmt = stmt.with_for_update(key_share=True)
    subscription = session.scalars(stmt).first()
    if subscription is None or subscription.status == "deleted" or not scope.covers(
            subscription.site_id):
        raise NotFound(f"Webhook subscription {subscription_id} does not exist")
    return subscription


def delete_subscription(session: Session, scope: Scope, clock: Clock,
                        subscription_id: int) -> None:
    subscription = get_subscription(session, scope, subscription_id, for_update=True)
    subscription.status = "deleted"
    cancel_queued(session, clock, subscription.id)
    _close_disabled_alert(session, clock, subscription, "subscription deleted")


def enable_subscription(session: Session, scope: Scope, clock: Clock,
                        subscription_id: int) -> WebhookSubscription:
    """Back on after it was disabled for failing: new events flow again (those cancelled
    while it was disabled are not sent)."""
    subscription = get_subscription(session, scope, subscription_id, for_update=True)
    if subscription.status == "active":
        raise Conflict(f"webhook subscription {subscription_id} is already active",
                       field="status")
    subscription.status = "active"
    subscription.consecutive_failures = 0
    subscription.disabled_at = subscription.disabled_reason = None
    session.flush()
    _close_disabled_alert(session, clock, subscription, "subscription enabled again")
    return subscription


def list_deliveries(session: Session, scope: Scope, subscription_id: int, *, page: int,
                    page_size: int, status: str | None = None) -> Page:
    get_subscription(session, scope, subscription_id)
    stmt = (select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.id.desc()))
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return paginate(session, stmt, page, page_size)


def cancel_queued(session: Session, clock: Clock, subscription_id: int) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == subscription_id,
               WebhookDelivery.status == "queued")
        .values(status="cancelled", updated_at=clock.now())
    )


def disabled_alert_key(subscription_id: int) -> str:
    return f"webhook_disabled:{subscription_id}"


def _close_disabled_alert(session, clock, subscription, resolution: str) -> None:
    alerts.resolve_where(session, clock, resolution, Alert.kind == "webhook_disabled",
                         Alert.dedupe_key.like(f"{disabled_alert_key(subscription.id)}:%"))
