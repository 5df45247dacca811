from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from opsbackend.models.base import Record, json_dict


class PlanningScenario(Record, table=True):
    """A saved answer of the access planner: where to base units, and what each one buys."""

    __tablename__ = "planning_scenario"
    # The result is derived from the request and holds home coordinates: the audit event
    # keeps the question and the headline, not a copy of every home.
    __audit_redacted__ = ("result",)

    name: str | None = Field(default=None, max_length=120)
    region: str = Field(max_length=20, index=True)
    # The site asked for; None when the question was a whole region.
    site_id: int | None = Field(default=None, foreign_key="site.id", index=True)
    question: str = Field(max_length=20)  # "max_cover" or "cover_all"
    minutes: int
    units: int
    coverage_pct: float
    parameters: dict = json_dict()
    result: dict = json_dict()


class PlanningScenarioSite(Record, table=True):
    """The sites whose patients a scenario covers: a caller must hold each one to read it."""

    __tablename__ = "planning_scenario_site"
    __table_args__ = (UniqueConstraint("scenario_id", "site_id"),)

    # The unique constraint's index serves lookups by scenario.
    scenario_id: int = Field(foreign_key="planning_scenario.id")
    site_id: int = Field(foreign_key="site.id", index=True)
