"""How the board writes times: in the record's site's zone, and spans in hours and minutes."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from opsbackend.api.fields import EARLIEST, LATEST


def local(moment: datetime | None, zone: str | None) -> str:
    """``Sun 14:05 PST``: the weekday tells a time tomorrow from one today."""
    if moment is None:
        return "—"
    shown = moment.astimezone(ZoneInfo(zone)) if zone else moment
    return shown.strftime("%a %H:%M %Z")


def span(delta: timedelta) -> str:
    """``2 h 05 min`` (whole minutes, rounded down), ``45 min``."""
    minutes = int(abs(delta).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def time_left(due_at: datetime, now: datetime) -> str:
    if due_at <= now:
        return f"overdue by {span(now - due_at)}"
    return span(due_at - now)


def install(app) -> None:
    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["span"] = span
    app.jinja_env.globals["time_left"] = time_left
    app.jinja_env.filters["local_input"] = local_input
    app.jinja_env.filters["local_iso"] = lambda text, zone: local(
        datetime.fromisoformat(text) if text else None, zone)


def local_input(moment: datetime, zone: str) -> str:
    """The value of a ``datetime-local`` input: the site's wall-clock time to the minute."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, zone: str) -> datetime:
    """A ``datetime-local`` value read in the site's zone, as an aware UTC datetime.
    ValueError when it is not a date and time of the years the API takes (1900-2099)."""
    wall = datetime.strptime(text.strip()[:16], "%Y-%m-%dT%H:%M")
    _check_year(wall.date())
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def parse_day(text: str) -> date:
    """A ``date`` input's value; ValueError when it is not a day of 1900-2099."""
    day = date.fromisoformat(text.strip())
    _check_year(day)
    return day


def _check_year(day: date) -> None:
    # As the API's fields: a year 9999 would overflow the day's end or its UTC time.
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"{day} is outside {EARLIEST.year}-{LATEST.year - 1}")
