from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field

from opsbackend.models.base import Record, json_list

SUBSCRIPTION_STATUSES = ("active", "disabled", "deleted")
DELIVERY_STATUSES = ("queued", "sending", "delivered", "failed", "cancelled")


class WebhookSubscription(Record, table=True):
    """A receiver of one site's events: its URL, the events it wants, its signing secret."""

    __tablename__ = "webhook_subscription"
    __audit_redacted__ = ("secret",)

    site_id: int = Field(foreign_key="site.id", index=True)
    url: str = Field(max_length=2000)
    events: list[str] = json_list()
    # "whsec_" + base64 of the key (Standard Webhooks); shown once, at creation.
    secret: str = Field(max_length=100)
    description: str | None = Field(default=None, max_length=200)
    status: str = Field(default="active", max_length=20, index=True)
    # Failed attempts in a row; past the configured run the subscription is disabled.
    consecutive_failures: int = Field(default=0)
    disabled_at: datetime | None = None
    disabled_reason: str | None = Field(default=None, max_length=300)
    created_by: str | None = Field(default=None, max_length=160)


class WebhookDelivery(Record, table=True):
    """One event for one subscription: written in the transaction that caused the event,
    sent by the scheduler's webhook sender. Its own record of delivery (the delivery log),
    so it is not audited row by row, as the SMS sender's progress is not."""

    __tablename__ = "webhook_delivery"
    __audited__ = False
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    subscription_id: int = Field(foreign_key="webhook_subscription.id", index=True)
    # The webhook-id header: the same on every retry, so receivers can drop duplicates.
    message_id: str = Field(max_length=64, unique=True)
    event_type: str = Field(max_length=40)
    # The exact bytes signed and sent, kept so a retry sends (and signs) the same body.
    body: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_response_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
