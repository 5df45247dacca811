"""What the planner works on: demand points (homes, expected patients) and candidate bases."""

from dataclasses import dataclass

HOURS_A_WEEK = 168
# A patient with no course yet, or an expected patient with no regimen given: the most
# demanding bag (24 h, no preservative: what infants get), 7 visits a week.
DEFAULT_VISITS_PER_WEEK = 7.0


def visits_per_week(bag_interval_hours: int) -> float:
    """A 24 h bag is changed 7 times a week, a 7-day bag once."""
    return HOURS_A_WEEK / bag_interval_hours


@dataclass(frozen=True)
class DemandPoint:
    """A home to reach, or a postal code where patients are expected."""

    lat: float
    lon: float
    visits_per_week: float
    postal_code: str | None = None
    # A patient's home; None for expected patients (from a CSV of postal codes).
    patient_id: int | None = None
    study_code: str | None = None
    site_id: int | None = None
    patients: int = 1

    @property
    def kind(self) -> str:
        return "home" if self.patient_id is not None else "expected"


@dataclass(frozen=True)
class Candidate:
    """A place a unit could be based: where units are now, a postal code, a given point."""

    label: str
    lat: float
    lon: float
    kind: str  # "current", "postal_code" or "given"
    # The call signs of the units based here now, and their crews' minutes a week.
    units: tuple[str, ...] = ()
    crew_minutes_per_week: float = 0.0

    @property
    def is_current(self) -> bool:
        return self.kind == "current"
