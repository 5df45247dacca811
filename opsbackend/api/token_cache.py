"""Recently authenticated API tokens, kept for a few seconds per worker.

Looking a token up costs a database round trip on every request, about a fifth of
a simple write. A revoked token is forgotten at once by the worker that revoked
it and by every other worker within ``TOKEN_CACHE_SECONDS`` (0 turns the cache off).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from opsbackend.clock import Clock

MAX_ENTRIES = 1024


@dataclass(frozen=True)
class Caller:
    """Who a token speaks for: what views need of it, detached from any session."""

    id: int
    name: str
    role: str
    nurse_id: int | None
    # None: every site (see opsbackend.domain.scope).
    site_ids: frozenset[int] | None = None


class TokenCache:
    def __init__(self, clock: Clock, seconds: int):
        self.clock = clock
        self.ttl = timedelta(seconds=seconds)
        self._entries: dict[str, tuple[Caller, datetime]] = {}

    def get(self, token_hash: str) -> Caller | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        caller, expires_at = entry
        if self.clock.now() >= expires_at:
            self._entries.pop(token_hash, None)  # another thread may have dropped it
            return None
        return caller

    def put(self, token_hash: str, caller: Caller) -> None:
        if not self.ttl:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # only a flood of distinct tokens gets here
        self._entries[token_hash] = (caller, self.clock.now() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()
