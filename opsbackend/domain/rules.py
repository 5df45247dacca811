"""Numbers the timeline rules use; each is configurable (see ``.env.example``)."""

from dataclasses import dataclass, field
from datetime import timedelta

DEFAULT_SERVICE_MINUTES = {
    "course_start": 90,
    "bag_change": 45,
    "course_end": 30,
    "alarm_response": 45,
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


DEFAULT_RULES = TimelineRules()
