"""Capacity: a base with n units serves at most what n crews can do in their shifts.

Each point goes to its nearest chosen base. A visit costs the time at the home plus the
drive there and back from the base: an upper bound, since a crew chaining nearby homes
drives less, and the honest figure for the lone remote home a new base is for. When a
base's visits need more crew time than its crews have, coverage on paper exceeds
capacity, and the summary says so and how many crews it would take.
"""

import math


def base_loads(reach, chosen: list[int], nearest: list, minutes: list) -> list[dict]:
    """Per chosen base: what it serves, the crew time that takes, and what it has."""
    assumptions = reach.assumptions
    rows = []
    for base in chosen:
        candidate = reach.candidates[base]
        kept = candidate.is_current and assumptions.keep_current_bases
        crews = len(candidate.units) if kept else 1
        crew_minutes = (candidate.crew_minutes_per_week if kept
                        else assumptions.new_unit_hours_per_week * 60)
        served = [n for n, b in enumerate(nearest)
                  if b == base and minutes[n] <= assumptions.minutes]
        visits = sum(reach.demand[n].visits_per_week for n in served)
        load = sum(reach.demand[n].visits_per_week
                   * (assumptions.service_minutes + 2 * minutes[n]) for n in served)
        per_crew = crew_minutes / crews if crews and crew_minutes else \
            assumptions.new_unit_hours_per_week * 60
        rows.append({
            "label": candidate.label, "kind": candidate.kind,
            "lat": candidate.lat, "lon": candidate.lon,
            "new": not kept, "units": list(candidate.units) if kept else [], "crews": crews,
            "patients": sum(reach.demand[n].patients for n in served),
            "visits_per_week": round(visits, 2),
            "load_hours_per_week": round(load / 60, 1),
            "capacity_hours_per_week": round(crew_minutes / 60, 1),
            "utilisation": round(load / crew_minutes, 3) if crew_minutes else None,
            "over_capacity": load > crew_minutes,
            "crews_needed": math.ceil(load / per_crew - 1e-9) if load else 0,
        })
    return rows


def capacity_summary(loads: list[dict], covered: float, total: float) -> dict:
    """Whether the coverage on paper holds once each base's crew time is counted: an
    overloaded base does only the share of its visits its crews have time for."""
    within = covered
    for base in loads:
        if base["over_capacity"] and base["load_hours_per_week"]:
            done = base["capacity_hours_per_week"] / base["load_hours_per_week"]
            within -= base["visits_per_week"] * (1 - done)
    short = [b for b in loads if b["over_capacity"]]
    if short:
        note = "coverage on paper exceeds capacity: " + "; ".join(
            f"{b['label']} needs {b['load_hours_per_week']} crew-hours a week and has "
            f"{b['capacity_hours_per_week']} ({b['crews_needed']} crews, has {b['crews']})"
            for b in short)
    else:
        note = "every chosen base's crews can do the visits it reaches"
    return {
        "exceeded": bool(short),
        "within_capacity_visits_per_week": round(within, 2),
        "within_capacity_pct": round(within / total * 100, 2) if total else 0.0,
        "note": note,
    }
