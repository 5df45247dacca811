"""Engine and sessions.

One session per request or job, committed once. Each session carries, in
``session.info``, the clock that stamps its rows and the actor and request id
its audit events record (see ``opsbackend.audit_listener``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlmodel import Session

from opsbackend import audit_listener, metrics, timestamps
from opsbackend.clock import Clock, SystemClock

SYSTEM_ACTOR = "system"
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, **kwargs) -> Engine:
    # SQL parameters (names, addresses, phones) never reach a log or an error message.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # pool_pre_ping: a connection the server dropped (a restart, pg_terminate_backend) is
    # replaced before use, so the app recovers without a restart. connect_timeout: an
    # unreachable server fails /readyz in seconds instead of hanging it.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} | kwargs.pop("connect_args", {})
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record):
    # pysqlite starts transactions only before DML, so a SAVEPOINT opening a
    # transaction would be committed by its RELEASE. SQLAlchemy emits BEGIN
    # itself instead (see its pysqlite notes on savepoints).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection):
    # IMMEDIATE: take the write lock up front and wait for it (busy_timeout). A deferred
    # transaction that reads and then writes fails at once with "database is locked"
    # when another writer committed in between (WAL snapshots), as the scheduler's
    # jobs and the web workers do.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The engine plus a session factory whose sessions stamp and audit rows."""

    def __init__(self, url: str, clock: Clock | None = None, **engine_kwargs):
        self.engine = make_engine(url, **engine_kwargs)
        self.clock = clock or SystemClock()
        self.session_factory = sessionmaker(
            bind=self.engine, class_=Session, expire_on_commit=False
        )
        timestamps.install(self.session_factory)
        audit_listener.install(self.session_factory)
        metrics.count_raised_alerts(self.session_factory)
        # The request-scoped session of the web app (Flask's own pattern).
        self.scoped = scoped_session(self.session_factory)

    def new_session(self, actor: str = SYSTEM_ACTOR, request_id: str | None = None) -> Session:
        session = self.session_factory()
        self.label(session, actor, request_id)
        return session

    def label(self, session: Session, actor: str, request_id: str | None = None) -> None:
        session.info.update(clock=self.clock, actor=actor, request_id=request_id)

    @contextmanager
    def transaction(self, actor: str = SYSTEM_ACTOR) -> Iterator[Session]:
        """A session for a job or a CLI command: committed once at the end."""
        with self.new_session(actor) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.scoped.remove()
        self.engine.dispose()
