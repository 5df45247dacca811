"""The board's other pages: the map, a patient's timeline, day plans."""

from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from opsbackend.api import context
from opsbackend.domain.dispatch import board_map, day_plans, now
from opsbackend.domain.errors import DomainError, NotFound
from opsbackend.domain.history.timeline import patient_timeline
from opsbackend.domain.labels import label_plan
from opsbackend.domain.messaging import message_log
from opsbackend.domain.registry import sites
from opsbackend.domain.scope import Scope
from opsbackend.models import Site
from opsbackend.web.blueprint import DISPATCHERS, STAFF, blp, signed_in
from opsbackend.web.formatting import parse_day

MESSAGES_SHOWN = 200
# How long the routing engine searches for a day plan (the API's default is 10 s).
SECONDS_CHOICES = (1.0, 3.0, 5.0, 10.0)


@blp.route("/map", methods=["GET"])
@signed_in(*STAFF)
def map_page():
    """One site at a time (sites are far apart); the first of the user's by default.
    Staff only: it places every home to ten metres, which a viewer never reads."""
    session = context.session()
    sites = session.scalars(select(Site).where(g.scope.where(Site.id)).order_by(Site.code)).all()
    chosen = request.args.get("site", type=int) or (sites[0].id if sites else None)
    if chosen is not None and not g.scope.covers(chosen):
        abort(404)
    site_scope = Scope(role=g.scope.role, site_ids=frozenset({chosen} if chosen else set()))
    points = board_map.map_points(session, context.clock(), site_scope, context.travel())
    tile_url = current_app.extensions["settings"].board_tile_url
    return render_template("board/map.html", points=points, tile_url=tile_url, sites=sites,
                           chosen=chosen)




@blp.route("/patients/<int:patient_id>", methods=["GET"])
@signed_in(*STAFF)
def patient_page(patient_id):
    """The patient's timeline and messages on one page, oldest first."""
    session = context.session()
    try:
        patient = now.patient_in_scope(session, g.scope, patient_id)
    except NotFound:
        abort(404)
    entries = [dict(at=entry.at, what=entry.type.replace("_", " "), detail=entry.summary)
               for entry in patient_timeline(session, patient.id)]
    messages = message_log.list_messages(session, g.scope, patient_id=patient.id, page=1,
                                         page_size=MESSAGES_SHOWN).items
    entries += [dict(at=m["at"], what=f"SMS {m['direction']} ({m['status']})",
                     detail=m["body"] or m["template"] or "") for m in messages]
    entries.sort(key=lambda entry: entry["at"])
    zone = sites.zones(session, g.scope).get(patient.site_id)
    return render_template("board/patient.html", patient=patient, entries=entries, zone=zone)


@blp.route("/plan", methods=["GET"])
@signed_in(*DISPATCHERS)
def plan_page():
    session, clock = context.session(), context.clock()
    sites = session.scalars(select(Site).where(g.scope.where(Site.id)).order_by(Site.code)).all()
    today = {site.id: clock.now().astimezone(ZoneInfo(site.timezone)).date().isoformat()
             for site in sites}
    return render_template("board/plan.html", sites=sites, today=today,
                           seconds_choices=SECONDS_CHOICES)


@blp.route("/plans", methods=["POST"])
@signed_in(*DISPATCHERS)
def plan_create():
    session = context.session()
    site_id = request.form.get("site_id", type=int)
    seconds = request.form.get("seconds", type=float)
    try:
        day = parse_day(request.form.get("day", ""))
    except ValueError:
        flash("No plan: give the day to plan.", "error")
        return redirect(url_for("board.plan_page"))
    if site_id is None or not g.scope.covers(site_id) or seconds not in SECONDS_CHOICES:
        flash("No plan: choose one of your sites and a search time.", "error")
        return redirect(url_for("board.plan_page"))
    try:
        plan = day_plans.plan_day(session, context.clock(), site_id, day, context.travel(),
                                  seconds)
    except DomainError as refused:
        session.rollback()
        flash(f"No plan: {refused.message}", "error")
        return redirect(url_for("board.plan_page"))
    context.commit()
    return redirect(url_for("board.plan_view", plan_id=plan.id))


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@signed_in(*DISPATCHERS)
def plan_view(plan_id):
    session = context.session()
    try:
        plan = now.plan_in_scope(session, g.scope, plan_id)
    except NotFound:
        abort(404)
    labelled = label_plan(session, plan)
    site = session.get(Site, plan.site_id)
    return render_template("board/plan_view.html", plan=plan, content=labelled.routes,
                           site=site, points=board_map.plan_points(session, plan),
                           tile_url=current_app.extensions["settings"].board_tile_url)


@blp.route("/plans/<int:plan_id>/apply", methods=["POST"])
@signed_in(*DISPATCHERS)
def plan_apply(plan_id):
    session = context.session()
    try:
        now.plan_in_scope(session, g.scope, plan_id)
        day_plans.apply_plan(session, context.clock(), plan_id, context.travel())
    except NotFound:
        abort(404)
    except DomainError as refused:
        session.rollback()
        flash(f"Plan not applied: {refused.message}", "error")
        return redirect(url_for("board.plan_view", plan_id=plan_id))
    context.commit()
    flash(f"Plan {plan_id} applied: every planned visit is booked.", "done")
    return redirect(url_for("board.plan_view", plan_id=plan_id))
