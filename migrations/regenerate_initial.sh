#!/usr/bin/env bash
# Until the first release lands, the schema is one initial migration, regenerated
# from the models. After that, every change is a new migration (alembic revision --autogenerate).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*_initial_schema.py
DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic revision --autogenerate \
    -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
ls migrations/versions/
