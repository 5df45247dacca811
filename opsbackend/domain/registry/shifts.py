"""When a unit works: its weekly pattern in the site's local time, with dated exceptions."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbackend.models import Unit, UnitShiftException


def shift_intervals(
    unit: Unit, exceptions: Iterable[UnitShiftException], zone: str, start: datetime,
    end: datetime,
) -> list[tuple[datetime, datetime]]:
    """The unit's working stretches (UTC) that touch [start, end], merged where they meet."""
    tz = ZoneInfo(zone)
    by_date = {e.on_date: e for e in exceptions}
    by_weekday = defaultdict(list)
    for shift in unit.shifts:
        by_weekday[shift.weekday].append((shift.starts_at, shift.ends_at))
    first = start.astimezone(tz).date() - timedelta(days=1)  # last night's shift may run on
    last = end.astimezone(tz).date()
    stretches = []
    day = first
    while day <= last:
        for starts_at, ends_at in _hours_on(by_weekday, by_date.get(day), day):
            opens = datetime.combine(day, starts_at, tz)
            closes_day = day if ends_at > starts_at else day + timedelta(days=1)
            stretches.append((opens, datetime.combine(closes_day, ends_at, tz)))
        day += timedelta(days=1)
    return [s for s in _merge(stretches) if s[1] > start and s[0] < end]


def on_shift(stretches: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(opens <= start and end <= closes for opens, closes in stretches)


def shift_at_or_after(stretches: list[tuple[datetime, datetime]],
                      moment: datetime) -> tuple[datetime, datetime] | None:
    """The stretch that covers ``moment``, else the next one to open; None when none is left.

    ``max(moment, opens)`` of the answer is the earliest the unit can work from
    ``moment`` on: a stop waits for the shift that covers it, across gaps and nights.
    """
    for opens, closes in sorted(stretches):
        if closes > moment:
            return opens, closes
    return None


def _hours_on(by_weekday, exception: UnitShiftException | None, day: date):
    if exception is not None:
        if exception.starts_at is None or exception.ends_at is None:
            return []  # off all day
        return [(exception.starts_at, exception.ends_at)]
    return by_weekday.get(day.weekday(), [])


def _merge(stretches):
    merged = []
    for opens, closes in sorted((o.astimezone(ZoneInfo("UTC")), c.astimezone(ZoneInfo("UTC")))
                                for o, c in stretches):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


