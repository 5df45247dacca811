"""For local runs: each message goes to the log, and counts as delivered."""

import logging
import uuid
from datetime import datetime

from opsbackend.sms.provider import SendResult

log = logging.getLogger("opsbackend.sms")


class ConsoleSmsProvider:
    name = "console"

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        sid = "CO" + uuid.uuid4().hex
        log.info("sms", extra={"to": to, "body": body, "sid": sid})
        return SendResult(sid=sid, status="delivered")

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None:
        return None  # the log keeps nothing we can ask

