"""Counting the SQL statements a piece of code sends: jobs that run every minute over
thousands of records must not send one per record."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def counted_statements(engine) -> Iterator[list[str]]:
    """The statements sent on ``engine`` inside the block, in order."""
    seen: list[str] = []

    def record(_connection, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
