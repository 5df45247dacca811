"""How long an alert took to reach a phone: from its condition (``condition_at``) to its
first SMS handed to the provider. Read by the sender's job for the metrics."""

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from opsbackend.models import Alert, OutboundMessage


def first_sms_delays(session: Session, message_ids: list[int]) -> list[tuple[str, float]]:
    """(alert kind, seconds) for each alert whose first sent SMS is among ``message_ids``."""
    if not message_ids:
        return []
    earlier = aliased(OutboundMessage)
    rows = session.execute(
        select(Alert.kind, Alert.condition_at, OutboundMessage.sent_at)
        .join(Alert, Alert.id == OutboundMessage.alert_id)
        .where(OutboundMessage.id.in_(message_ids), OutboundMessage.sent_at.is_not(None),
               Alert.condition_at.is_not(None),
               ~exists().where(and_(
                   earlier.alert_id == OutboundMessage.alert_id, earlier.sent_at.is_not(None),
                   or_(earlier.sent_at < OutboundMessage.sent_at,
                       and_(earlier.sent_at == OutboundMessage.sent_at,
                            earlier.id < OutboundMessage.id)))))
    ).all()
    return [(kind, (sent_at - condition_at).total_seconds())
            for kind, condition_at, sent_at in rows]
