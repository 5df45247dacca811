"""What each role sees of a scenario's demand.

Admins and dispatchers (and jobs and the command line) see each home: patient, study
code, coordinates. Every other role sees areas: one row per postal code with its
centroid, how many patients live there, their visits a week and how many are covered,
and the worst-placed home's nearest base and minutes. No patient id, study code or
home coordinates leave for them.
"""

from opsbackend.domain.planning import postal_codes
from opsbackend.domain.scope import Scope

ROLES_SEEING_HOMES = ("admin", "dispatcher", "system")


def sees_homes(scope: Scope) -> bool:
    return scope.role in ROLES_SEEING_HOMES


def demand_for(scope: Scope, demand: list[dict]) -> list[dict]:
    return demand if sees_homes(scope) else by_area(demand)


def by_area(demand: list[dict]) -> list[dict]:
    areas: dict[str | None, list[dict]] = {}
    for point in demand:
        areas.setdefault(point["postal_code"], []).append(point)
    return [_area(code, points) for code, points in sorted(areas.items(),
                                                            key=lambda a: a[0] or "")]


def _area(code: str | None, points: list[dict]) -> dict:
    centroid = postal_codes.find(code) if code else None
    worst = max(points, key=lambda p: float("inf") if p["minutes"] is None else p["minutes"])
    return {
        "kind": "area", "patient_id": None, "study_code": None, "site_id": None,
        "postal_code": code,
        "lat": centroid.lat if centroid else None, "lon": centroid.lon if centroid else None,
        "patients": sum(p["patients"] for p in points),
        "patients_covered": sum(p["patients"] for p in points if p["covered"]),
        "visits_per_week": round(sum(p["visits_per_week"] for p in points), 2),
        "nearest_base": worst["nearest_base"], "minutes": worst["minutes"],
        "covered": all(p["covered"] for p in points),
        "reachable": all(p["reachable"] for p in points),
    }


def describe(scope: Scope, scenario) -> dict:
    """A scenario as the caller may see it: its result, with demand by home or by area."""
    demand = demand_for(scope, scenario.result["demand"])
    return scenario.result | {
        "id": scenario.id, "name": scenario.name, "region": scenario.region,
        "site_id": scenario.site_id, "site_ids": scenario.parameters["site_ids"],
        "created_at": scenario.created_at, "demand": demand,
        "uncovered": [point for point in demand if not point["covered"]],
        "unreachable": [point for point in demand if not point["reachable"]],
    }
