"""One active scheduler: the leader holds a lock; standbys try again every tick.

PostgreSQL: a session advisory lock held on a dedicated connection (not pooled,
so it is released exactly when this process or its connection dies).
SQLite: an exclusive ``flock`` on a file beside the database, released by the
kernel when the process dies.
"""

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger("opsbackend.jobs")
# An arbitrary, fixed 64-bit key for pg_try_advisory_lock.
ADVISORY_KEY = 7_245_006_117


class PostgresLeaderLock:
    def __init__(self, url: str):
        self._engine = create_engine(url, poolclass=NullPool)
        self._connection = None

    def acquire(self) -> bool:
        """True while this process leads; safe to call every tick."""
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:
                log.warning("lost the leader connection")
                self._drop()
        connection = self._engine.connect()
        held = connection.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
        ).scalar()
        connection.commit()
        if held:
            self._connection = connection
        else:
            connection.close()
        return bool(held)

    def release(self) -> None:
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                log.debug("leader connection already gone")
            self._connection = None


class FileLeaderLock:
    def __init__(self, path: Path):
        self._path = path
        self._fd = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def leader_lock_for(database_url: str):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "opsbackend.db")
        return FileLeaderLock(database.with_name(database.name + ".scheduler.lock"))
    return PostgresLeaderLock(database_url)
