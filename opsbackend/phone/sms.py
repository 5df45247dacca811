"""POST /twilio/sms: every inbound SMS stored once by its MessageSid, answered with TwiML."""

from flask import Blueprint, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from opsbackend.api import context
from opsbackend.domain.phone.sms_commands import MAX_LENGTH
from opsbackend.domain.phone.sms_conversation import Reply, handle_sms
from opsbackend.domain.registry.phones import InvalidPhoneNumber, to_e164
from opsbackend.models import InboundMessage
from opsbackend.phone.fields import form_text, sid
from opsbackend.phone.signatures import twilio_signed

blp = Blueprint("twilio_sms", __name__)
SORRY = "Sorry, that was not recorded. Please call dispatch."


@blp.post("/twilio/sms")
@twilio_signed
def inbound_sms():
    message_sid = sid("MessageSid", "SmsSid")
    if not message_sid:
        return _twiml(None, status=400)
    session = context.session()
    inbound, earlier_reply = _claim(session, message_sid)
    if inbound is None:  # a retried webhook: the same answer, nothing new
        return _twiml(earlier_reply)
    try:
        reply = handle_sms(session, context.clock(), inbound, context.rules())
    except Exception:  # the message is kept, the sender told, the error logged
        current_app.logger.exception("inbound SMS %s could not be handled", message_sid)
        reply = Reply(SORRY, "error", undo_changes=True)
    if reply.undo_changes:
        session.rollback()  # whatever the handling began goes; the message stays
        inbound, earlier_reply = _claim(session, message_sid)
        if inbound is None:  # a retry slipped in while the claim was let go
            return _twiml(earlier_reply)
    inbound.reply_body, inbound.handled_as = reply.text, reply.handled_as
    inbound.nurse_id, inbound.contact_id = reply.nurse_id, reply.contact_id
    context.commit()
    return _twiml(inbound.reply_body)


def _claim(session, message_sid: str) -> tuple[InboundMessage | None, str | None]:
    """Store the message, which claims its MessageSid (a parallel retry waits on the
    unique index for our commit), or, when that retry got there first, its reply."""
    inbound = _inbound(message_sid)
    session.add(inbound)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None, _by_sid(session, message_sid).reply_body
    return inbound, None


def _inbound(message_sid: str) -> InboundMessage:
    return InboundMessage(
        provider_sid=message_sid, from_phone=_phone(form_text("From")),
        to_phone=_phone(form_text("To")) or None, body=form_text("Body")[:MAX_LENGTH],
        received_at=context.clock().now(),
    )


def _by_sid(session, message_sid: str) -> InboundMessage | None:
    return session.scalars(
        select(InboundMessage).where(InboundMessage.provider_sid == message_sid)).first()


def _phone(raw: str) -> str:
    try:
        return to_e164(raw, current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhoneNumber:
        return raw[:20]


def _twiml(text: str | None, status: int = 200):
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response), status, {"Content-Type": "application/xml"}
