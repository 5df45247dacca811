"""Escalation ladders: configuration per site (the ``escalation_step`` table), not code.

A ladder for an alert is the first of: the site's steps for the alert's kind, the
site's steps for every kind, the default steps (no site) for the kind, the default
steps for every kind, and finally ``FALLBACK_LADDER``. Past the last step, its
targets are messaged again every ``after_minutes`` until someone acts.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Invalid
from opsbackend.domain.records import require_reference
from opsbackend.models import EscalationStep, Site


@dataclass(frozen=True)
class Rung:
    step: int
    after_minutes: int
    targets: tuple[str, ...]


# Used only where nobody configured a ladder: nurse and dispatcher at once, the
# dispatcher again after 10 minutes, the site's on-call phone 10 minutes later.
FALLBACK_LADDER = (
    Rung(0, 0, ("nurse", "dispatcher")),
    Rung(1, 10, ("dispatcher",)),
    Rung(2, 10, ("on_call",)),
)
# Kinds whose default ladder is their own, whatever a site set for every kind: a
# stopped scheduler is the on-call phone's business first (nobody else is being
# messaged about anything while it is down).
OWN_LADDERS = {
    "scheduler_down": (Rung(0, 0, ("on_call",)), Rung(1, 10, ("on_call", "dispatcher"))),
}
MIN_REPEAT_MINUTES = 5


def ladder_for(session: Session, site_id: int | None, kind: str) -> tuple[Rung, ...]:
    rows = session.scalars(
        select(EscalationStep).where(
            (EscalationStep.site_id == site_id) | EscalationStep.site_id.is_(None)
        )
    ).all()
    order = ((site_id, kind), (None, kind)) if kind in OWN_LADDERS else (
        (site_id, kind), (site_id, None), (None, kind), (None, None))
    for want_site, want_kind in order:
        chosen = [r for r in rows if r.site_id == want_site and r.alert_kind == want_kind]
        if chosen:
            return tuple(
                Rung(r.step, r.after_minutes, tuple(r.targets))
                for r in sorted(chosen, key=lambda r: r.step)
            )
    return OWN_LADDERS.get(kind, FALLBACK_LADDER)


def rung_at(ladder: tuple[Rung, ...], step: int) -> Rung:
    """The rung for a step; past the end, the last rung repeats."""
    if step < len(ladder):
        return ladder[step]
    last = ladder[-1]
    return Rung(step, max(last.after_minutes, MIN_REPEAT_MINUTES), last.targets)


def set_ladder(
    session: Session, site_id: int | None, alert_kind: str | None, rungs: list[dict]
) -> list[EscalationStep]:
    """Replace one ladder (a site's, or the default with no site) as a whole."""
    require_reference(session, Site, site_id, "site_id")
    if not rungs:
        raise Invalid("a ladder needs at least one step", field="steps")
    existing = session.scalars(
        select(EscalationStep).where(
            _is(EscalationStep.site_id, site_id), _is(EscalationStep.alert_kind, alert_kind)
        )
    ).all()
    for row in existing:
        session.delete(row)
    session.flush()
    rows = [
        EscalationStep(site_id=site_id, alert_kind=alert_kind, step=n,
                       after_minutes=rung["after_minutes"], targets=rung["targets"])
        for n, rung in enumerate(rungs)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_steps(session: Session, site_id: int | None = None) -> list[EscalationStep]:
    stmt = select(EscalationStep).order_by(
        EscalationStep.site_id, EscalationStep.alert_kind, EscalationStep.step
    )
    if site_id is not None:
        stmt = stmt.where(EscalationStep.site_id == site_id)
    return list(session.scalars(stmt))


def _is(column, value):
    return column.is_(None) if value is None else column == value
