"""A provider that counts what the real one refused: the metrics' SMS failures by code."""

from datetime import datetime

from opsbackend import metrics
from opsbackend.sms.provider import PermanentSmsError, SendResult, TransientSmsError


class MeteredSmsProvider:
    def __init__(self, provider):
        self._provider = provider
        self.name = provider.name

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult:
        try:
            return self._provider.send(to, body, status_callback)
        except PermanentSmsError as exc:
            metrics.count_sms_failure(exc.code or "unknown")
            raise
        except TransientSmsError as exc:
            # No code: the provider never answered (unreachable) or not in time.
            metrics.count_sms_failure(exc.code or ("timeout" if exc.maybe_sent
                                                   else "unreachable"))
            raise

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None:
        return self._provider.find_sent(to, since, body)
