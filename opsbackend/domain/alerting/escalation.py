"""Escalation ladders: configuration per site (the ``escalation_step`` table), not code.

A ladder for an alert is the first of: the site's steps for the alert's kind, the
site's steps for every kind, the default steps (no site) for the kind, the default
steps for every kind, and finally ``FALLBACK_LADDER``. Past the last step, its
targets are messaged again every ``after_minutes`` until someone acts.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlmodel import Session

from opsbackend.domain.errors import Invalid, NotFound
from opsbackend.domain.records import require_reference
from opsbackend.domain.scope import Scope
from opsbackend.models import AcknowledgementPause, EscalationStep, Site
from opsbackend.models.alert import ALERT_KINDS


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
# How long an acknowledgement pauses the ladder where no site or kind set its own.
DEFAULT_ACKNOWLEDGEMENT_PAUSE_MINUTES = 30


@dataclass(frozen=True)
class Ladder:
    """The ladder in force for one site and alert kind, and where it comes from."""

    site_id: int | None
    alert_kind: str
    # "site_kind", "site", "default_kind", "default" (configured rows) or "built_in".
    source: str
    rungs: tuple[Rung, ...]

    @property
    def is_default(self) -> bool:
        """True unless the site configured it for itself."""
        return self.source not in ("site_kind", "site")


# The order in which a ladder is looked for: (rows of the site?, rows of the kind?, source).
_PRECEDENCE = ((True, True, "site_kind"), (True, False, "site"),
               (False, True, "default_kind"), (False, False, "default"))


def ladder_for(session: Session, site_id: int | None, kind: str) -> tuple[Rung, ...]:
    return effective_ladder(_rows_for(session, site_id), site_id, kind).rungs


def effective_ladder(rows, site_id: int | None, kind: str) -> Ladder:
    """The first configured ladder in precedence order among ``rows``, else the built-in one."""
    for of_site, of_kind, source in _PRECEDENCE:
        want_site, want_kind = (site_id if of_site else None), (kind if of_kind else None)
        if (of_site and site_id is None) or (kind in OWN_LADDERS and not of_kind):
            continue  # a kind with a ladder of its own takes only ladders set for it
        chosen = [r for r in rows if r.site_id == want_site and r.alert_kind == want_kind]
        if chosen:
            rungs = tuple(Rung(r.step, r.after_minutes, tuple(r.targets))
                          for r in sorted(chosen, key=lambda r: r.step))
            return Ladder(site_id, kind, source, rungs)
    return Ladder(site_id, kind, "built_in", OWN_LADDERS.get(kind, FALLBACK_LADDER))


def ladders_in_force(session: Session, scope: Scope, site_id: int | None = None,
                     alert_kind: str | None = None) -> list[Ladder]:
    """What is in force for each of the caller's sites (or one) and each alert kind (or one)."""
    stmt = select(Site.id).where(scope.where(Site.id)).order_by(Site.id)
    if site_id is not None:
        stmt = stmt.where(Site.id == site_id)
    site_ids = list(session.scalars(stmt))
    if site_id is not None and not site_ids:
        raise NotFound(f"Site {site_id} does not exist", field="site_id")
    kinds = [alert_kind] if alert_kind else ALERT_KINDS
    rows = _rows_for(session, *site_ids)
    return [effective_ladder(rows, site, kind) for site in site_ids for kind in kinds]


def _rows_for(session: Session, *site_ids: int | None) -> list[EscalationStep]:
    wanted = [site_id for site_id in site_ids if site_id is not None]
    return list(session.scalars(
        select(EscalationStep).where(
            EscalationStep.site_id.in_(wanted) | EscalationStep.site_id.is_(None)
        )
    ))


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


def _is(column, value):
    return column.is_(None) if value is None else column == value


def acknowledgement_pause(session: Session, site_id: int | None, alert_kind: str) -> timedelta:
    """The pause in force: the site's for the kind, the site's, the default for the kind,
    the default row, else ``DEFAULT_ACKNOWLEDGEMENT_PAUSE_MINUTES``."""
    rows = {(row.site_id, row.alert_kind): row.minutes for row in session.scalars(
        select(AcknowledgementPause).where(
            or_(AcknowledgementPause.site_id == site_id, AcknowledgementPause.site_id.is_(None)),
            or_(AcknowledgementPause.alert_kind == alert_kind,
                AcknowledgementPause.alert_kind.is_(None))))}
    for key in ((site_id, alert_kind), (site_id, None), (None, alert_kind), (None, None)):
        if key in rows:
            return timedelta(minutes=rows[key])
    return timedelta(minutes=DEFAULT_ACKNOWLEDGEMENT_PAUSE_MINUTES)


def list_acknowledgement_pauses(session: Session, scope: Scope) -> list[AcknowledgementPause]:
    return list(session.scalars(
        select(AcknowledgementPause)
        .where(or_(AcknowledgementPause.site_id.is_(None), scope.where(
            AcknowledgementPause.site_id)))
        .order_by(AcknowledgementPause.site_id, AcknowledgementPause.alert_kind)))


def set_acknowledgement_pause(session: Session, site_id: int | None, alert_kind: str | None,
                              minutes: int) -> AcknowledgementPause:
    """Set (or replace) the pause of a site (or the default) for one kind (or every kind)."""
    if site_id is not None:
        require_reference(session, Site, site_id, "site_id")
    if alert_kind is not None and alert_kind not in ALERT_KINDS:
        raise Invalid(f"unknown alert kind {alert_kind!r}", field="alert_kind")
    row = session.scalars(select(AcknowledgementPause).where(
        _is(AcknowledgementPause.site_id, site_id),
        _is(AcknowledgementPause.alert_kind, alert_kind)).with_for_update(key_share=True)).first()
    if row is None:
        row = AcknowledgementPause(site_id=site_id, alert_kind=alert_kind, minutes=minutes)
        session.add(row)
    row.minutes = minutes
    session.flush()
    return row


def _is(column, value):
    return column.is_(None) if value is None else column == value
