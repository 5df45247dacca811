"""The board's Now view and the actions taken from it.

Every read and every action goes through the domain functions the API uses, with the
signed-in user's ``Scope``. An action answers an htmx request with the board's main region
re-rendered (and its message); a plain form post is redirected back to the board.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for

from opsbackend.api import context
from opsbackend.domain.alerting import alerts
from opsbackend.domain.dispatch import assignment, now, visits
from opsbackend.domain.errors import DomainError, NotFound
from opsbackend.domain.labels import label_visit
from opsbackend.web.blueprint import blp, signed_in

EVERYONE = ("dispatcher", "nurse", "viewer")
DISPATCHERS = ("dispatcher",)
STAFF = ("dispatcher", "nurse")
# What resolved an alert, as the dispatcher picks it; the note adds the detail.
RESOLUTION_REASONS = {
    "bag_changed": "Bag changed",
    "pump_running": "Pump running again",
    "unit_assigned": "Unit assigned",
    "family_reached": "Family reached",
    "clinical_decision": "Clinical decision (see note)",
    "false_alarm": "False alarm",
    "other": "Other (see note)",
}


@blp.route("", methods=["GET"])
@signed_in(*EVERYONE)
def now_page():
    visit_id = request.args.get("visit", type=int)
    return render_template("board/board.html", **_board(visit_id))


@blp.route("/now", methods=["GET"])
@signed_in(*EVERYONE)
def now_partial():
    return render_template("board/_now.html", **_now())


@blp.route("/visits/<int:visit_id>/suggestions", methods=["GET"])
@signed_in(*EVERYONE)
def suggestions(visit_id):
    return render_template("board/_suggestions.html", panel=_suggestions(visit_id))


@blp.route("/visits/<int:visit_id>/assign", methods=["POST"])
@signed_in(*DISPATCHERS)
def assign(visit_id):
    unit_id = request.form.get("unit_id", type=int)
    if unit_id is None:
        flash("Choose a unit to assign.", "error")
        return _after(visit_id)
    session = context.session()
    try:
        visit = assignment.assign(session, context.clock(), g.scope, visit_id, unit_id,
                                  context.travel())
    except NotFound:
        abort(404)
    except DomainError as refused:
        session.rollback()
        flash(f"Not assigned: {refused.message}", "error")
        return _after(visit_id)
    context.commit()
    flash(f"V{visit.id} assigned to {label_visit(session, visit).call_sign}.", "done")
    return _after()


@blp.route("/visits/<int:visit_id>/unassign", methods=["POST"])
@signed_in(*DISPATCHERS)
def unassign(visit_id):
    return _act(lambda session: assignment.unassign(
        session, context.clock(), g.scope, visit_id, context.travel()),
        f"V{visit_id} is back on the board, with no unit.")


@blp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@signed_in(*STAFF)
def acknowledge(alert_id):
    def act(session):
        now.alert_in_scope(session, g.scope, alert_id)
        return alerts.acknowledge(session, context.clock(), alert_id, _who())

    return _act(act, f"A{alert_id} acknowledged: its escalation stopped.")


@blp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@signed_in(*STAFF)
def resolve(alert_id):
    reason = request.form.get("reason", "")
    note = request.form.get("note", "").strip()
    if reason not in RESOLUTION_REASONS:
        flash(f"A{alert_id} not resolved: choose what resolved it.", "error")
        return _after()
    if reason in ("other", "clinical_decision") and not note:
        flash(f"A{alert_id} not resolved: say what was done in the note.", "error")
        return _after()
    resolution = f"{reason}: {note}" if note else reason

    def act(session):
        now.alert_in_scope(session, g.scope, alert_id)
        return alerts.resolve(session, context.clock(), alert_id, _who(), resolution)

    return _act(act, f"A{alert_id} resolved ({RESOLUTION_REASONS[reason].lower()}).")


def _act(change, done: str):
    session = context.session()
    try:
        change(session)
    except NotFound:
        abort(404)
    except DomainError as refused:
        session.rollback()
        flash(refused.message, "error")
        return _after()
    context.commit()
    flash(done, "done")
    return _after()


def _after(visit_id: int | None = None):
    if request.headers.get("HX-Request"):
        return render_template("board/_board.html", **_board(visit_id))
    return redirect(url_for("board.now_page", visit=visit_id))


def _who() -> str:
    return f"user:{g.user.id}:{g.user.email}"


def _board(visit_id: int | None) -> dict:
    return _now() | {"panel": _suggestions(visit_id) if visit_id else None}


def _now() -> dict:
    session, clock = context.session(), context.clock()
    return dict(
        now=clock.now(),
        zones=now.site_zones(session, g.scope),
        bag_changes=now.bag_changes_due(session, clock, g.scope),
        alerts=now.open_alerts(session, g.scope),
        units=now.units_now(session, clock, g.scope),
        reasons=RESOLUTION_REASONS,
        can_dispatch=g.user.role in ("admin", "dispatcher"),
        can_act=g.user.role in ("admin", "dispatcher", "nurse"),
    )


def _suggestions(visit_id: int) -> dict:
    session = context.session()
    try:
        judged = assignment.suggestions(session, context.clock(), g.scope, visit_id,
                                        context.travel())
    except NotFound:
        abort(404)
    visit = visits.visit_in_scope(session, g.scope, visit_id)
    zone = now.site_zones(session, g.scope).get(visits.site_id_of(session, visit))
    return dict(visit=label_visit(session, visit), zone=zone,
                suitable=[j for j in judged if j.placement],
                excluded=[j for j in judged if j.refusal],
                can_dispatch=g.user.role in ("admin", "dispatcher"))
