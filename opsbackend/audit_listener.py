"""Write an audit event for every row created, changed or deleted.

It hooks the session's flush, so no code path can change a record without its
audit event, and the event lands in the same transaction as the change. Rows
are inserted with SQL core on the flushing connection, so the listener never
re-enters the flush.
"""

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import event, inspect

from opsbackend.clock import SystemClock

# Columns whose changes are not worth an event (they change on every update).
IGNORED_COLUMNS = {"updated_at", "created_at"}
REDACTED = "[redacted]"


def install(session_factory) -> None:
    event.listen(session_factory, "after_flush", _write_audit_events)


def _write_audit_events(session, _flush_context) -> None:
    from opsbackend.models import AuditEvent

    now = session.info.get("clock", SystemClock()).now()
    base = {
        "occurred_at": now,
        "actor": session.info.get("actor", "system"),
        "request_id": session.info.get("request_id"),
    }
    rows = []
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not getattr(obj, "__audited__", True):
                continue
            changes = _changes(obj, action)
            if changes is None:
                continue
            rows.append(
                base
                | {
                    "action": action,
                    "table_name": obj.__tablename__,
                    "record_id": _record_id(obj),
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def _changes(obj, action: str) -> dict | None:
    state = inspect(obj)
    redacted = getattr(obj, "__audit_redacted__", ())
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        name = attr.key
        if name in IGNORED_COLUMNS:
            continue
        history = state.attrs[name].history
        if action == "create":
            after[name] = _plain(getattr(obj, name), name in redacted)
        elif action == "delete":
            value = history.deleted[0] if history.deleted else getattr(obj, name)
            before[name] = _plain(value, name in redacted)
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            before[name] = _plain(old, name in redacted)
            after[name] = _plain(new, name in redacted)
    if action == "update" and not after:
        return None
    return {"before": before or None, "after": after or None}


def _record_id(obj) -> str:
    # The identity key is not set yet for rows inserted by this flush; the key columns are.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(part) for part in key)


def _plain(value, redact: bool = False):
    """A JSON-safe copy of a column value."""
    if redact and value is not None:
        return REDACTED
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
