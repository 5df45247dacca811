"""The README's route tables list every route the app serves, and nothing it does not."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
# Files, not routes: Flask's static folder and the Swagger UI's assets.
NOT_ROUTES = {"static", "api_docs_assets.static"}
API_TABLE_HEADER = "| resource | routes |"
OUTSIDE_TABLE_HEADER = "| what | routes |"


def table_rows(text: str, header: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def routes_in(rows: list[str], prefix: str) -> set[tuple[str, str]]:
    """(method, path with {} for parameters) for every `METHODS /path` in the routes column."""
    found = set()
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)
        for span in re.findall(r"`([A-Z/]+) (/[^`]*)`", cells[2]):
            methods, path = span
            path = path.replace("\\|", "|").split("?")[0]
            for expanded in expand_alternatives(path):
                for method in methods.split("/"):
                    found.add((method, normalise(prefix + expanded)))
    return found


def expand_alternatives(path: str) -> list[str]:
    """`/courses/{id}/start|pause` is two routes."""
    head, _, last = path.rpartition("/")
    return [f"{head}/{choice}" for choice in last.split("|")]


def normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path).rstrip("/") or "/"


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_ROUTES:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, normalise(rule.rule)))
    return routes


def test_the_readme_lists_every_route_and_no_route_that_does_not_exist(app):
    text = README.read_text()
    listed = (routes_in(table_rows(text, API_TABLE_HEADER), "/api/v1")
              | routes_in(table_rows(text, OUTSIDE_TABLE_HEADER), ""))
    served = served_routes(app)

    assert sorted(served - listed) == [], "routes missing from README.md's tables"
    assert sorted(listed - served) == [], "README.md lists routes the app does not serve"
