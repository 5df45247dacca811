"""Write an audit event for every row created, changed or deleted.

It hooks the session's flush, so no code path can change a record without its
audit event, and the event lands in the same transaction as the change. Rows
are inserted with SQL core on the flushing connection, so the listener never
re-enters the flush.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache

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
            shape = _shape(type(obj))
            if shape is None:
                continue
            changes = _changes(obj, action, shape)
            if changes is None:
                continue
            rows.append(
                base
                | {
                    "action": action,
                    "table_name": shape.table_name,
                    "record_id": _record_id(obj),
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


@dataclass(frozen=True)
class _Shape:
    """What the listener needs of a mapped class, worked out once per class."""

    table_name: str
    columns: tuple[str, ...]
    redacted: frozenset[str]


@cache
def _shape(cls) -> _Shape | None:
    if not getattr(cls, "__audited__", True):
        return None
    columns = tuple(
        attr.key for attr in inspect(cls).column_attrs if attr.key not in IGNORED_COLUMNS
    )
    return _Shape(cls.__tablename__, columns, frozenset(getattr(cls, "__audit_redacted__", ())))


def _changes(obj, action: str, shape: _Shape) -> dict | None:
    if action == "create":
        after = {name: _plain(getattr(obj, name), name in shape.redacted) for name in shape.columns}
        return {"before": None, "after": after or None}
    state = inspect(obj)
    before, after = {}, {}
    for name in shape.columns:
        history = state.attrs[name].history
        redact = name in shape.redacted
        if action == "delete":
            value = history.deleted[0] if history.deleted else getattr(obj, name)
            before[name] = _plain(value, redact)
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            before[name] = _plain(old, redact)
            after[name] = _plain(new, redact)
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
