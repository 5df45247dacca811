"""POST /twilio/status: delivery status callbacks (MessageStatus) update the outbox row."""

from flask import Blueprint, current_app

from opsbackend.api import context
from opsbackend.domain.messaging import outbox
from opsbackend.phone.fields import arg_id, form_text, sid
from opsbackend.phone.signatures import twilio_signed

blp = Blueprint("twilio_status", __name__)


@blp.post("/twilio/status")
@twilio_signed
def status_callback():
    message_sid = sid("MessageSid", "SmsSid")
    message = outbox.record_status_callback(
        context.session(), context.clock(),
        outbox_id=arg_id("outbox_id"), sid=message_sid,
        status=(form_text("MessageStatus") or form_text("SmsStatus")).lower(),
        error_code=form_text("ErrorCode") or None,
    )
    if message is None:
        # Acknowledge anyway: Twilio would only retry a callback we cannot place.
        current_app.logger.warning("status callback for an unknown message",
                                   extra={"sid": message_sid})
    context.commit()
    return "", 204
