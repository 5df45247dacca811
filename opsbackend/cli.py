"""The ``opsbackend`` console command (a Flask CLI group)."""

import json
import os

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from opsbackend import migrate
from opsbackend.api.fields import MAX_ID
from opsbackend.app import create_app
from opsbackend.cli_planning import plan_bases
from opsbackend.config import ConfigError
from opsbackend.models.auth import ROLES
from opsbackend.routing.engines import DEFAULT_ENGINE, ENGINES
from opsbackend.routing.problem import OBJECTIVES


def _create_app():
    try:
        return create_app()
    except ConfigError as refused:  # one line saying which variable, not a traceback
        raise click.ClickException(f"configuration: {refused}") from refused


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main():
    """opsbackend: operations backend for mobile home-infusion units."""


main.add_command(plan_bases)


def _settings():
    return current_app.extensions["settings"]


def _database():
    return current_app.extensions["database"]


@main.command()
@click.option("--host", default=None, help="Interface to bind (default HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default PORT or 8000).")
@click.option("--workers", type=int, default=None, help="Worker processes (WEB_CONCURRENCY).")
@click.option("--with-scheduler", is_flag=True,
              help="Also run the scheduler in this process (one command for a local run).")
@with_appcontext
def serve(host, port, workers, with_scheduler):
    """Serve the API with gunicorn (opsbackend/gunicorn.conf.py)."""
    from jobs.scheduler import build_scheduler, watch_only_scheduler
    from opsbackend import metrics
    from opsbackend.server import serve as run_server

    # Before anything counts: the workers (and a scheduler in this process) share their
    # metrics through this directory (PROMETHEUS_MULTIPROC_DIR, or a temporary one),
    # emptied of a previous run's.
    chosen = os.environ.get(metrics.MULTIPROC_ENV)
    metrics_dir = metrics.use_multiprocess_dir()
    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    click.echo(f"opsbackend on http://{host}:{port}  (API docs: http://{host}:{port}/api/v1/docs)")
    if with_scheduler:
        scheduler = build_scheduler(_database(), _database().clock, job_context(), blocking=False)
        click.echo("scheduler running in this process")
    else:  # the web watches that some scheduler leads (jobs/watch.py)
        context = job_context()
        scheduler = watch_only_scheduler(_database(), _database().clock, context.sms_provider,
                                         context.status_callback_base)
    scheduler.start()
    try:
        run_server(host=host, port=port, workers=workers)
    finally:
        scheduler.shutdown(wait=False)
        if not chosen:
            metrics.remove_directory(metrics_dir)


@main.command()
@click.option("--metrics-port", type=int, default=None,
              help="Serve /metrics on this port (default METRICS_PORT; 0: none).")
@with_appcontext
def scheduler(metrics_port):
    """Run the scheduler (one leads at a time; start several for a standby)."""
    from jobs.scheduler import build_scheduler

    settings = _settings()
    metrics_port = settings.metrics_port if metrics_port is None else metrics_port
    click.echo("scheduler starting")
    scheduler = build_scheduler(_database(), _database().clock, job_context(), blocking=True)
    if metrics_port:
        from opsbackend.metrics_server import serve_metrics

        serve_metrics(_database(), settings, settings.host, metrics_port,
                      healthy=scheduler.leadership.alive)
        click.echo(f"scheduler metrics on http://{settings.host}:{metrics_port}/metrics")
    scheduler.start()


def job_context():
    from jobs.scheduler import JobContext
    from opsbackend.sms.factory import provider_from_settings

    settings = _settings()
    return JobContext(timeline_rules=settings.timeline_rules(),
                      alert_rules=settings.alert_rules(),
                      sms_provider=provider_from_settings(settings),
                      status_callback_base=settings.public_base_url,
                      send_lanes=settings.sms_send_lanes,
                      webhooks=settings.webhook_sender())


@main.group("outbox")
def outbox_group():
    """The SMS outbox."""


@outbox_group.command("send")
@with_appcontext
def outbox_send():
    """One pass of the sender: send what is due, settle what is stuck."""
    from dataclasses import asdict

    from opsbackend.domain.messaging import outbox
    from opsbackend.sms.factory import provider_from_settings

    settings = _settings()
    summary = outbox.send_due(_database(), _database().clock, provider_from_settings(settings),
                              status_callback_base=settings.public_base_url,
                              lanes=settings.sms_send_lanes)
    click.echo(json.dumps(asdict(summary)))


@main.group()
def db():
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision):
    """Migrate the database up to REVISION (default: head)."""
    migrate.upgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision):
    """Migrate the database down to REVISION ("base" empties it)."""
    migrate.downgrade(_settings().database_url, revision)
    click.echo(f"database at {revision}")


@main.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the demo data (idempotent) and print a demo token for each role."""
    from opsbackend.demo import seed_demo as load
    from opsbackend.demo import seed_demo_users

    settings = _settings()
    if settings.environment == "production":
        raise click.ClickException("refusing to load demo data in production")
    database = _database()
    with database.transaction(actor="cli:seed-demo") as session:
        demo_tokens = load(session, database.clock, settings.secret_key)
    sites = "; ".join(f"{role}: {demo.describe()}" for role, demo in demo_tokens.items())
    click.echo(f"Demo data loaded. API tokens (Authorization: Bearer <token>; {sites}):")
    for role, demo in demo_tokens.items():
        click.echo(f"  {role:<10} {demo.token}")
    with database.transaction(actor="cli:seed-demo") as session:
        seed_demo_users(session, settings.secret_key)


@main.command("demo-sign-ins")
@with_appcontext
def demo_sign_ins():
    """Print the demo's board sign-ins (after seed-demo), for `make run`."""
    from opsbackend.demo import DEMO_USERS, seed_demo_users

    settings = _settings()
    if settings.environment == "production":
        raise click.ClickException("there are no demo users in production")
    with _database().transaction(actor="cli:demo-sign-ins") as session:
        sign_ins = seed_demo_users(session, settings.secret_key)
    click.echo(f"Board sign-in at http://{settings.host}:{settings.port}/board "
               "(email, password, who):")
    for email, role, codes in DEMO_USERS:
        sites = ", ".join(codes) if codes else "every site"
        click.echo(f"  {email:<26} {sign_ins[email]:<24} {role}: {sites}")


# A record id: what an id column holds (a larger one is a usage error, not a traceback).
RECORD_ID = click.IntRange(1, MAX_ID)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "site_ids", type=RECORD_ID, multiple=True,
              help="A site the user acts for (repeat for several; none: a global admin).")
@with_appcontext
def create_user(email, role, site_ids):
    """Create a board user. The password comes from OPSBACKEND_PASSWORD or a prompt."""
    from opsbackend.domain.errors import DomainError
    from opsbackend.domain.registry import users

    password = os.environ.get("OPSBACKEND_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        with _database().transaction(actor="cli:create-user") as session:
            user = users.create_user(session, email=email, role=role, password=password,
                                     site_ids=list(site_ids))
            created = {"id": user.id, "email": user.email, "role": role,
                       "site_ids": sorted(set(site_ids))}
    except DomainError as refused:
        raise click.ClickException(refused.message) from refused
    click.echo(json.dumps(created))


@main.command("create-token")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option("--site", "site_ids", type=RECORD_ID, multiple=True,
              help="A site the token acts for (repeat for several); only admins may have none.")
@click.option("--nurse-id", type=RECORD_ID, default=None,
              help="Tie a nurse token to the nurse.")
@with_appcontext
def create_token(role, name, site_ids, nurse_id):
    """Issue an API token; it is printed once and stored only as a hash."""
    from opsbackend.domain.errors import DomainError
    from opsbackend.domain.registry import tokens
    from opsbackend.domain.scope import Scope

    try:
        with _database().transaction(actor="cli:create-token") as session:
            record, raw = tokens.grant_token(
                session, Scope.everything(), name=name, role=role, site_ids=site_ids,
                nurse_id=nurse_id, created_by="cli")
            token_id = record.id
    except DomainError as refused:
        option = {"site_ids": "--site", "nurse_id": "--nurse-id"}.get(refused.field, "")
        raise click.ClickException(f"{option}: {refused.message}".lstrip(": ")) from refused
    click.echo(json.dumps({"id": token_id, "name": name, "role": role,
                           "site_ids": sorted(site_ids), "token": raw}))


@main.command("revoke-token")
@click.argument("token_id", type=RECORD_ID)
@with_appcontext
def revoke_token(token_id):
    """Revoke an API token by its id."""
    from opsbackend.domain.errors import DomainError
    from opsbackend.domain.registry import tokens

    database = _database()
    try:
        with database.transaction(actor="cli:revoke-token") as session:
            tokens.revoke_token(session, database.clock, token_id)
    except DomainError as refused:
        raise click.ClickException(refused.message) from refused
    click.echo(f"token {token_id} revoked")


@main.command("vrptw")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--seconds", type=float, default=30, show_default=True,
              help="Time limit for the search (reading the file counts against it).")
@click.option("--engine", type=click.Choice(sorted(ENGINES)), default=DEFAULT_ENGINE,
              show_default=True,
              help="Routing engine (ortools and vroom come with the dev extra).")
@click.option("--objective", type=click.Choice(OBJECTIVES), default="distance",
              show_default=True,
              help="distance: total distance only; fleet: vehicles first, then distance.")
def vrptw(file, seconds, engine, objective):
    """Solve a VRPTW instance in Solomon's format with a day-plan routing engine.

    With a solomon_best_known.json beside the file, the line also gives the best-known
    value for the objective and the gap to it.
    """
    from opsbackend.routing.engines import EngineUnavailable
    from opsbackend.routing.solomon import NotSolomon, best_known, gap_pct, solve_file

    try:
        result = solve_file(file, seconds, engine=engine, objective=objective)
    except (EngineUnavailable, NotSolomon) as refused:
        raise click.ClickException(str(refused)) from refused
    result = {"engine": engine} | result
    known = best_known(file, objective)
    if known is not None:
        result |= {"best_known": known["distance"], "best_known_vehicles": known["vehicles"],
                   "gap_pct": gap_pct(result["distance"], known["distance"])}
    click.echo(json.dumps(result))
