"""A planning scenario as CSV tables and as a GeoJSON map layer (for the board's map)."""

import csv
import io
import json

from opsbackend.api.reports import point_feature

GEOJSON = "application/geo+json"
COLUMNS = {
    "demand": ("kind", "patient_id", "study_code", "site_id", "postal_code", "lat", "lon",
               "patients", "patients_covered", "visits_per_week", "nearest_base", "minutes",
               "covered", "reachable"),
    "bases": ("label", "kind", "lat", "lon", "new", "units", "crews", "patients",
              "visits_per_week", "load_hours_per_week", "capacity_hours_per_week",
              "utilisation", "over_capacity", "crews_needed"),
    "marginal_value": ("units", "coverage_pct", "covered_visits_per_week",
                       "gain_visits_per_week", "patients_covered", "greedy_coverage_pct",
                       "gap_pct", "new_bases"),
}
TABLES = tuple(COLUMNS)


def as_csv(scenario: dict, table: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[table])
    for row in scenario[table]:
        writer.writerow([_cell(row.get(column)) for column in COLUMNS[table]])
    return out.getvalue()


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value


def as_geojson(scenario: dict) -> str:
    """The bases, then every demand point (home, expected or area) that has a place."""
    features = [
        point_feature(base["lon"], base["lat"], kind="base", **{
            key: base[key] for key in ("label", "new", "units", "crews", "visits_per_week",
                                       "utilisation", "over_capacity")})
        for base in scenario["bases"]
    ]
    for point in scenario["demand"]:
        if point["lat"] is None:
            continue
        features.append(point_feature(point["lon"], point["lat"], **{
            key: value for key, value in point.items() if key not in ("lat", "lon")}))
    return json.dumps({"type": "FeatureCollection", "features": features,
                       "properties": {"minutes": scenario["minutes"],
                                      "coverage_pct": scenario["coverage_pct"]}})
