"""How the board writes times: in the record's site's zone, and spans in hours and minutes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


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
    ValueError when it is not a date and time."""
    wall = datetime.strptime(text.strip()[:16], "%Y-%m-%dT%H:%M")
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
