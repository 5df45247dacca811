"""POST /twilio/status: delivery status callbacks (MessageStatus) update the outbox row."""

from flask import Blueprint, current_app, request

from opsbackend.api import context
from opsbackend.domain.messaging import outbox
from opsbackend.phone.signatures import twilio_signed

blp = Blueprint("twilio_status", __name__)


@blp.post("/twilio/status")
@twilio_signed
def status_callback():
    form = request.form
    message = outbox.record_status_callback(
        context.session(), context.clock(),
        outbox_id=request.args.get("outbox_id", type=int),
        sid=form.get("MessageSid") or form.get("SmsSid"),
        status=(form.get("MessageStatus") or form.get("SmsStatus") or "").lower(),
        error_code=form.get("ErrorCode") or None,
    )
    if message is None:
        # Acknowledge anyway: Twilio would only retry a callback we cannot place.
        current_app.logger.warning("status callback for an unknown message",
                                   extra={"sid": form.get("MessageSid")})
    context.commit()
    return "", 204
