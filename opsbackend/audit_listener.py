"""Write an audit event for every row created, changed or deleted.

It hooks the session's flush, so no code path can change a record without its
audit event, and the event lands in the same transaction as the change. Rows
are inserted with SQL core on the session's connection, so the listener never
re-enters the flush.

Each flush works out its events (who, when, the values before and after) at once,
and the transaction writes them in one INSERT at its commit: a request that flushes
three times (an SMS check-in does) sends one statement, not three. A rollback drops
them with the changes. Inside a savepoint they are written at each flush instead, so
that rolling the savepoint back takes its events with it, and only those.
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
# The session.info key of the events of the transaction's flushes, written at its commit.
PENDING = "audit_events_pending"


def install(session_factory) -> None:
    event.listen(session_factory, "after_flush", _collect_audit_events)
    event.listen(session_factory, "before_commit", _write_at_commit)
    event.listen(session_factory, "after_transaction_end", _forget_at_the_end)


def write_pending(session) -> None:
    """Insert the events collected so far in the transaction (``record_event`` calls it
    first, so that the trail keeps its order). Never inside a savepoint: they would go
    with its rollback, and the changes they describe would not."""
    if not session.in_nested_transaction():
        _insert(session, session.info.pop(PENDING, None))


def _collect_audit_events(session, _flush_context) -> None:
    rows = _events_of_flush(session)
    if session.in_nested_transaction():
        _insert(session, rows)  # inside the savepoint: kept or rolled back with it
    elif rows:
        session.info.setdefault(PENDING, []).extend(rows)


def _write_at_commit(session) -> None:
    session.flush()  # the commit's own flush, first, so that its events are among them
    write_pending(session)


def _forget_at_the_end(session, transaction) -> None:
    if transaction.parent is None:  # committed (written) or rolled back (gone with it)
        session.info.pop(PENDING, None)


def _insert(session, rows: list[dict] | None) -> None:
    from opsbackend.models import AuditEvent

    if rows:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def _events_of_flush(session) -> list[dict]:
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
    return rows


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
