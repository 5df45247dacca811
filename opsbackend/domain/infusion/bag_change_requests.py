"""API bag changes made once per ``Idempotency-Key``: a client that retries (a timeout, a
dropped connection) gets the first change's result, not a second bag.

The key is claimed in ``bag_change_request`` (unique per course) in the transaction of
the change: a parallel retry waits on the unique index until the first commits, then
reads its result. The same key with another body is refused.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from opsbackend.domain.errors import Conflict
from opsbackend.domain.records import get_or_404
from opsbackend.models import BagChangeRequest, Course


@dataclass(frozen=True)
class Outcome:
    response: dict
    replayed: bool


def change_once(session: Session, course_id: int, key: str, body: dict,
                change: Callable[[], dict]) -> Outcome:
    """``change()`` records the bag change and returns its response; run once per key."""
    get_or_404(session, Course, course_id)
    digest = body_hash(body)
    earlier = _find(session, course_id, key)
    if earlier is None:
        claim = BagChangeRequest(course_id=course_id, idempotency_key=key, body_hash=digest)
        try:
            with session.begin_nested():
                session.add(claim)
        except IntegrityError:  # a parallel request with this key got there first
            earlier = _find(session, course_id, key)
            if earlier is None:  # refused for another reason: never answer it as a replay
                raise
        else:
            claim.response = change()
            claim.new_bag_id = claim.response.get("new_bag", {}).get("id")
            session.flush()
            return Outcome(claim.response, replayed=False)
    if earlier.body_hash != digest:
        raise Conflict(f"Idempotency-Key {key!r} was used for another bag change of course "
                       f"{course_id}", field="Idempotency-Key", reason="idempotency_key_reused")
    return Outcome(earlier.response, replayed=True)


def body_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _find(session: Session, course_id: int, key: str) -> BagChangeRequest | None:
    return session.scalars(select(BagChangeRequest).where(
        BagChangeRequest.course_id == course_id, BagChangeRequest.idempotency_key == key)
        .execution_options(populate_existing=True)).first()
