import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import opsbackend.models  # noqa: F401
from opsbackend import migrate
from opsbackend.db import make_engine
from tests import databases


@pytest.fixture
def empty_database_url(backend, tmp_path):
    if backend == "postgres":
        url = databases.create_postgres_database("opsbackend_migrations")
        yield url
        databases.drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


def schema_differences(url):
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    return differences


def table_names(url):
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_head_creates_exactly_the_models(empty_database_url):
    migrate.upgrade(empty_database_url)

    assert schema_differences(empty_database_url) == []
    assert table_names(empty_database_url) == set(SQLModel.metadata.tables) | {"alembic_version"}


def test_downgrade_base_removes_every_table(empty_database_url):
    migrate.upgrade(empty_database_url)

    migrate.downgrade(empty_database_url, "base")

    assert table_names(empty_database_url) == {"alembic_version"}


def test_upgrade_twice_changes_nothing(empty_database_url):
    migrate.upgrade(empty_database_url)
    migrate.upgrade(empty_database_url)

    assert schema_differences(empty_database_url) == []
