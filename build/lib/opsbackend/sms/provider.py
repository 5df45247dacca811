"""The small interface every SMS provider implements."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # the provider's word: queued, sent, delivered, ...


class TransientSmsError(Exception):
    """Try again later. ``maybe_sent``: the provider may have taken it (a read timeout)."""

    def __init__(self, message: str, *, maybe_sent: bool = False, code: str | None = None):
        super().__init__(message)
        self.maybe_sent = maybe_sent
        self.code = code


class PermanentSmsError(Exception):
    """Never going to work (invalid number, recipient opted out, ...)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, body: str, status_callback: str | None) -> SendResult: ...

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None:
        """A message with this body sent to ``to`` since then, if the provider has one."""
