"""Numbers the timeline rules use; each is configurable (see ``.env.example``)."""

from dataclasses import dataclass, field
from datetime import timedelta

from opsbackend.domain.infusion.bag_limits import DEFAULT_TABLE, BagLimitsTable

DEFAULT_SERVICE_MINUTES = {
    "course_start": 90,
    "bag_change": 45,
    "course_end": 30,
    "alarm_response": 45,
    "pump_check": 30,
    "lab_draw": 20,
}


@dataclass(frozen=True)
class TimelineRules:
    # A report or change time may be this far ahead of our clock (phones drift).
    clock_skew: timedelta = timedelta(minutes=5)
    # An infusion interruption this long or longer is a protocol deviation
    # (the label: 4 hours or more needs a supervised restart).
    interruption_deviation_after: timedelta = timedelta(hours=4)
    # Visits are generated this far ahead.
    visit_horizon: timedelta = timedelta(hours=72)
    # Course start visit window around the planned start.
    start_window_before: timedelta = timedelta(minutes=60)
    start_window_after: timedelta = timedelta(minutes=60)
    # Disconnect visit window after the projected end of the course.
    end_window_after: timedelta = timedelta(hours=2)
    service_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_MINUTES))
    # Storage and volume limits of bags, per drug and bag interval (BAG_LIMITS).
    bag_limits: BagLimitsTable = DEFAULT_TABLE


DEFAULT_RULES = TimelineRules()


@dataclass(frozen=True)
class AlertRules:
    # A bag past due by this much with no change recorded is a missed bag change.
    missed_bag_grace: timedelta = timedelta(minutes=15)
    # A bag due within this lead, with nobody on site, is at risk.
    at_risk_lead: timedelta = timedelta(minutes=60)
    # A pump alarm with no "running" report for this long needs a human.
    pump_alarm_unresolved_after: timedelta = timedelta(minutes=30)
    # A visit starting within this horizon with no unit raises an alert.
    unassigned_visit_within: timedelta = timedelta(hours=12)


DEFAULT_ALERT_RULES = AlertRules()
