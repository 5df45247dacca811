"""Fixtures. The whole suite runs once per database: ``pytest --db sqlite|postgres``."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from opsbackend import migrate
from opsbackend.app import create_app
from opsbackend.clock import FixedClock
from opsbackend.config import Settings
from opsbackend.domain.registry.skill_rules import DEFAULT_SKILL_RULES
from opsbackend.models import SkillRule
from tests import databases
from tests.contract import ContractClient
from tests.factories import Factory

# Fakes of the outside world, as fixtures.
pytest_plugins = ("tests.fake_nominatim", "tests.fake_osrm", "tests.fake_twilio",
                  "tests.fake_webhook_receiver")

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Signs and checks the inbound webhooks in tests (the fake Twilio has its own).
TWILIO_TOKEN = "webhook-signing-token-for-tests"
# A Monday afternoon in winter (UTC).
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def pytest_addoption(parser):
    parser.addoption("--db", choices=("sqlite", "postgres"), default="sqlite")


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}"


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") == "postgres":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run with --db postgres)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def backend(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """An empty database migrated to head, for the whole run."""
    if backend == "postgres":
        url = databases.create_postgres_database()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    yield url
    if backend == "postgres":
        databases.drop_postgres_database(url)


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def settings(database_url):
    return Settings(environment="test", database_url=database_url, secret_key=TEST_SECRET,
                    twilio_auth_token=TWILIO_TOKEN)


@pytest.fixture
def app(settings, clock):
    app = create_app(settings, clock=clock)
    # Every response a test sees is checked against the OpenAPI document (tests/contract.py).
    app.test_client_class = ContractClient
    yield app
    database = app.extensions["database"]
    _empty_tables(database.engine)
    database.dispose()


@pytest.fixture
def database(app):
    return app.extensions["database"]


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def factory(database) -> Factory:
    return Factory(database)


@pytest.fixture
def auth(factory):
    """``auth("dispatcher")`` -> headers with a fresh token of that role."""
    return factory.auth_headers


def _empty_tables(engine) -> None:
    """Back to the state the migrations leave: no rows but the default skill rules."""
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())
        connection.execute(
            SkillRule.__table__.insert(),
            [rule | {"created_at": T0, "updated_at": T0, "active": True}
             for rule in DEFAULT_SKILL_RULES],
        )
