"""Signed Twilio webhooks for tests, signed with the SDK's own validator."""

import itertools
import re

from twilio.request_validator import RequestValidator

from tests.conftest import TWILIO_TOKEN

_sids = itertools.count(1)


def signed_post(client, path: str, params: dict, *, base="http://localhost", headers=None,
                token=TWILIO_TOKEN):
    signature = RequestValidator(token).compute_signature(base + path, params)
    return client.post(path, data=params,
                       headers={"X-Twilio-Signature": signature} | (headers or {}))


def sms(client, from_phone: str, body: str, sid: str | None = None):
    params = {"MessageSid": sid or f"SM{next(_sids):032d}", "From": from_phone,
              "To": "+13105550199", "Body": body, "AccountSid": "AC" + "0" * 32,
              "NumMedia": "0"}
    return signed_post(client, "/twilio/sms", params)


def voice(client, path: str, caller: str, digits: str | None = None, call_sid: str = "CA1"):
    """A signed step of a voice call: the keys pressed as ``Digits``."""
    params = {"CallSid": call_sid, "From": caller, "To": "+13105550199"}
    if digits is not None:
        params["Digits"] = digits
    return signed_post(client, path, params)


def reply_text(response) -> str:
    """The <Message> of a TwiML reply."""
    found = re.search(r"<Message>(.*)</Message>", response.get_data(as_text=True), re.S)
    return found.group(1) if found else ""
