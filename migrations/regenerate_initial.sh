#!/usr/bin/env bash
# Until the first release lands, the schema is one initial migration, regenerated
# from the models. After that, every change is a new migration (alembic revision --autogenerate).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
# Later (data) migrations step aside while 0001 is written again.
mkdir "$tmp/later"
find migrations/versions -maxdepth 1 -name '*.py' ! -name '0001_initial_schema.py' \
    -exec mv {} "$tmp/later/" \;
rm -f migrations/versions/0001_initial_schema.py
DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic revision --autogenerate \
    -m "initial schema" --rev-id 0001 >/dev/null || status=$?
mv "$tmp/later/"*.py migrations/versions/ 2>/dev/null || true
rm -rf "$tmp"
ls migrations/versions/
exit "${status:-0}"
