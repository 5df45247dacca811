"""Run Alembic from code (the CLI and the tests use the same path)."""

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

# Where alembic.ini and migrations/ are: beside the package in a checkout; an installed
# package (the image) is told by OPSBACKEND_ROOT.
PROJECT_ROOT = Path(os.environ.get("OPSBACKEND_ROOT") or Path(__file__).resolve().parent.parent)
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
