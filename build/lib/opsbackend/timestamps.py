"""Stamp created_at / updated_at from the session's clock at flush time."""

from sqlalchemy import event

from opsbackend.clock import SystemClock


def install(session_factory) -> None:
    event.listen(session_factory, "before_flush", _stamp)


def _stamp(session, _flush_context, _instances) -> None:
    now = session.info.get("clock", SystemClock()).now()
    for obj in session.new:
        if hasattr(obj, "created_at") and obj.created_at is None:
            obj.created_at = now
        if hasattr(obj, "updated_at"):
            obj.updated_at = now
    for obj in session.dirty:
        if hasattr(obj, "updated_at") and session.is_modified(obj, include_collections=False):
            obj.updated_at = now
