"""Messages about a visit that are outdated by the time the sender would send them.

A reminder held by quiet hours, or a notice queued a while ago, must not reach a family
after its news stopped being true: the sender asks this module at claim time and
suppresses the message with the reason instead. Alert messages follow their alert
(``outbox._unwanted``), not the visit.
"""

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.models import Visit

# Still true whatever became of the visit: it says the visit left the unit's day.
ALWAYS_TRUE = ("unit.visit_removed",)


def outdated_reason(template: str, queued_at: datetime, visit, now: datetime) -> str | None:
    """Why a message about ``visit`` (status, window_start, window_end, window_changed_at)
    should not go out now, or None."""
    if template.startswith("alert.") or template in ALWAYS_TRUE:
        return None
    if template == "visit.cancelled":
        return None if visit.status == "cancelled" else "visit_reopened"
    if visit.status == "cancelled":
        return "visit_cancelled"
    if visit.status in ("completed", "missed") or now >= visit.window_end:
        return "visit_ended"
    if visit.status == "on_site" or (template.startswith("reminder.")
                                     and now >= visit.window_start):
        return "visit_started"
    if visit.window_changed_at is not None and visit.window_changed_at > queued_at:
        return "visit_moved"
    return None


def claimed(session: Session, rows, now: datetime):
    """(row, reason) for each claimed outbox row about a visit that is outdated now."""
    about_visits = [row for row in rows if row.visit_id is not None and row.alert_id is None]
    if not about_visits:
        return
    visits = {v.id: v for v in session.execute(
        select(Visit.id, Visit.status, Visit.window_start, Visit.window_end,
               Visit.window_changed_at)
        .where(Visit.id.in_({row.visit_id for row in about_visits})))}
    for row in about_visits:
        reason = outdated_reason(row.template, row.created_at, visits[row.visit_id], now)
        if reason is not None:
            yield row, reason
