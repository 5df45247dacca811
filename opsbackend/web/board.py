"""The board's Now view and the actions taken from it.

Every read and every action goes through the domain functions the API uses, with the
signed-in user's ``Scope``. An action answers an htmx request with the board's main region
re-rendered (and its message); a plain form post is redirected back to the board.
"""

from flask import abort, flash, g, redirect, render_template, request, url_for

from opsbackend.api import context
from opsbackend.domain.alerting import alerts
from opsbackend.domain.dispatch import assignment, now, visit_changes, visits
from opsbackend.domain.errors import DomainError, NotFound
from opsbackend.domain.labels import label_visit
from opsbackend.domain.messaging import callbacks
from opsbackend.domain.phone import evv
from opsbackend.domain.registry import sites
from opsbackend.models.callback import CALLBACK_OUTCOMES
from opsbackend.models.evv import EVV_REASON_CODES
from opsbackend.models.visit import VISIT_REASON_CODES
from opsbackend.web.blueprint import DISPATCHERS, EVERYONE, STAFF, blp, signed_in
from opsbackend.web.formatting import parse_local

# The follow-up lists show this many rows each, oldest first (the rest wait their turn).
FOLLOW_UPS_SHOWN = 50
EXTRA_VISIT_KINDS = ("pump_check", "lab_draw", "alarm_response", "bag_change")
# The domain's reasons for resolving an alert (models.alert.RESOLUTION_REASONS), as the
# dispatcher reads them; the note adds the detail.
RESOLUTION_LABELS = {
    "changed": "Bag changed",
    "course_paused": "Course paused",
    "course_discontinued": "Course discontinued",
    "duplicate": "Duplicate of another alert",
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


@blp.route("/visits/<int:visit_id>/move", methods=["POST"])
@signed_in(*DISPATCHERS)
def move(visit_id):
    session = context.session()
    visit = visits.visit_in_scope(session, g.scope, visit_id)
    zone = _zone_of(session, visit)
    try:
        start = parse_local(request.form.get("window_start", ""), zone)
        end = parse_local(request.form.get("window_end", ""), zone)
    except ValueError:
        flash(f"V{visit_id} not moved: give the new window's start and end.", "error")
        return _after(visit_id)
    reason = _reason(VISIT_REASON_CODES)
    if reason is None:
        flash(f"V{visit_id} not moved: choose a reason.", "error")
        return _after(visit_id)
    changes = dict(window_start=start, window_end=end, reason_code=reason,
                   note=_note(), confirm_late=request.form.get("confirm_late") == "yes")
    return _act(lambda session: visit_changes.move_visit(
        session, context.clock(), g.scope, visit_id, changes, context.travel(),
        context.rules()), f"V{visit_id} moved.", refused_visit=visit_id)


@blp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@signed_in(*DISPATCHERS)
def cancel(visit_id):
    reason = _reason(VISIT_REASON_CODES)
    if reason is None:
        flash(f"V{visit_id} not cancelled: choose a reason.", "error")
        return _after(visit_id)
    return _act(lambda session: visit_changes.cancel_visit(
        session, context.clock(), g.scope, visit_id, reason, _note(), context.travel()),
        f"V{visit_id} cancelled.", refused_visit=visit_id)


@blp.route("/visits/<int:visit_id>/extra", methods=["POST"])
@signed_in(*DISPATCHERS)
def create_extra(visit_id):
    """A new visit for the same patient (and course) as this one."""
    session = context.session()
    visit = visits.visit_in_scope(session, g.scope, visit_id)
    zone = _zone_of(session, visit)
    kind = request.form.get("kind")
    try:
        start = parse_local(request.form.get("window_start", ""), zone)
        end = parse_local(request.form.get("window_end", ""), zone)
    except ValueError:
        flash("No visit created: give the window's start and end.", "error")
        return _after(visit_id)
    if kind not in EXTRA_VISIT_KINDS:
        flash("No visit created: choose its kind.", "error")
        return _after(visit_id)
    data = dict(patient_id=visit.patient_id, course_id=visit.course_id, kind=kind,
                window_start=start, window_end=end, reason_code=_reason(VISIT_REASON_CODES),
                notes=_note(), confirm_late=request.form.get("confirm_late") == "yes")
    return _act(lambda session: visit_changes.create_visit(
        session, context.clock(), g.scope, data, context.travel(), context.rules()),
        f"New {kind.replace('_', ' ')} visit created for "
        f"{label_visit(session, visit).study_code}.", refused_visit=visit_id)


@blp.route("/callbacks/<int:callback_id>/done", methods=["POST"])
@signed_in(*STAFF)
def callback_done(callback_id):
    outcome = request.form.get("outcome")
    if outcome not in CALLBACK_OUTCOMES:
        flash("Callback not closed: choose how the call went.", "error")
        return _after()
    return _act(lambda session: callbacks.close_callback(
        session, context.clock(), g.scope, callback_id, outcome, _note(), _who()),
        f"Callback {callback_id} closed ({outcome.replace('_', ' ')}).")


@blp.route("/evv-exceptions/<int:exception_id>/clear", methods=["POST"])
@signed_in(*DISPATCHERS)
def evv_clear(exception_id):
    reason = _reason(EVV_REASON_CODES)
    if reason is None or not _note():
        flash("Exception not cleared: choose a reason code and write a note.", "error")
        return _after()
    return _act(lambda session: evv.clear(
        session, context.clock(), g.scope, exception_id, reason, _note(), _who()),
        f"EVV exception {exception_id} cleared.")


@blp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@signed_in(*STAFF)
def acknowledge(alert_id):
    def act(session):
        now.alert_in_scope(session, g.scope, alert_id)
        return alerts.acknowledge(session, context.clock(), alert_id, _who(), g.scope)

    return _act(act, f"A{alert_id} acknowledged: its escalation pauses, and resumes while "
                     "the danger stands.")


@blp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@signed_in(*STAFF)
def resolve(alert_id):
    reason = request.form.get("reason", "")
    note = request.form.get("note", "").strip()[:300]  # what Alert.resolution holds
    if reason not in RESOLUTION_LABELS:
        flash(f"A{alert_id} not resolved: choose what resolved it.", "error")
        return _after()
    duplicate_of = request.form.get("duplicate_of", "").strip().upper().removeprefix("A")
    duplicate_of = int(duplicate_of) if duplicate_of.isdigit() and len(duplicate_of) < 10 \
        else None

    def act(session):
        now.alert_in_scope(session, g.scope, alert_id)
        return alerts.resolve(session, context.clock(), alert_id, _who(), reason,
                              note=note or None, duplicate_of=duplicate_of, scope=g.scope)

    return _act(act, f"A{alert_id} resolved ({RESOLUTION_LABELS[reason].lower()}).")


def _act(change, done: str, refused_visit: int | None = None):
    """Run one change and commit it; a refusal rolls back and says the domain's reason
    (with the visit's panel open again when it was about a visit)."""
    session = context.session()
    try:
        change(session)
    except NotFound:
        abort(404)
    except DomainError as refused:
        session.rollback()
        flash(refused.message, "error")
        return _after(refused_visit)
    context.commit()
    flash(done, "done")
    return _after()


def _reason(codes) -> str | None:
    reason = request.form.get("reason_code")
    return reason if reason in codes else None


def _note() -> str | None:
    return request.form.get("note", "").strip()[:500] or None


def _zone_of(session, visit) -> str:
    return sites.zones(session, g.scope)[visits.site_id_of(session, visit)]


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
    first = dict(page=1, page_size=FOLLOW_UPS_SHOWN)
    open_alerts = now.open_alerts(session, g.scope)
    return dict(
        now=clock.now(),
        zones=sites.zones(session, g.scope),
        bag_changes=now.bag_changes_due(session, clock, g.scope),
        alerts=open_alerts,
        units=now.units_now(session, clock, g.scope),
        callbacks=callbacks.list_callbacks(session, g.scope, status="open", **first).items,
        exceptions=evv.list_exceptions(session, g.scope, status="open", **first).items,
        failed=now.failed_deliveries(session, open_alerts),
        callback_outcomes=CALLBACK_OUTCOMES,
        evv_reasons=EVV_REASON_CODES,
        reasons=RESOLUTION_LABELS,
    )


def _suggestions(visit_id: int) -> dict:
    session = context.session()
    try:
        judged = assignment.suggestions(session, context.clock(), g.scope, visit_id,
                                        context.travel())
    except NotFound:
        abort(404)
    visit = visits.visit_in_scope(session, g.scope, visit_id)
    zone = sites.zones(session, g.scope).get(visits.site_id_of(session, visit))
    return dict(visit=label_visit(session, visit), zone=zone, now=context.clock().now(),
                visit_reasons=VISIT_REASON_CODES, extra_kinds=EXTRA_VISIT_KINDS,
                suitable=[j for j in judged if j.placement],
                excluded=[j for j in judged if j.refusal])
