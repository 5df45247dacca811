"""The Flask application factory."""

import logging
import re
import time
import uuid

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from opsbackend import health, logs, metrics, metrics_endpoint
from opsbackend.api import init_api
from opsbackend.api.auth import enforce_access_policy
from opsbackend.api.query_parameters import refuse_unknown_query_parameters
from opsbackend.api.token_cache import TokenCache
from opsbackend.clock import Clock
from opsbackend.config import Settings
from opsbackend.db import Database
from opsbackend.domain.messaging import templates
from opsbackend.geo.geocoder import geocoder_from_settings
from opsbackend.phone import sms as phone_sms
from opsbackend.phone import status as phone_status
from opsbackend.phone import voice as phone_voice
from opsbackend.routing.estimators import estimator_from_settings
from opsbackend.web import init_web

access_log = logging.getLogger("opsbackend.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        DEFAULT_PHONE_REGION=settings.default_phone_region,
    )
    # Answers keep their schema's field order (id first), unsorted. JSON_SORT_KEYS, which
    # said so until Flask 2.3, is ignored since.
    app.json.sort_keys = False
    app.extensions["settings"] = settings
    app.extensions["timeline_rules"] = settings.timeline_rules()
    app.extensions["geocoder"] = geocoder_from_settings(settings)
    app.extensions["travel"] = estimator_from_settings(settings)
    database = Database(settings.database_url, clock)
    app.extensions["database"] = database
    app.extensions["token_cache"] = TokenCache(database.clock, settings.token_cache_seconds)

    if settings.trusted_proxies:
        # Honour X-Forwarded-Proto/Host from exactly as many proxies as there are.
        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )

    templates.load_locales()
    init_api(app)
    app.register_blueprint(health.blp)
    app.register_blueprint(metrics_endpoint.blp)
    init_web(app)
    for phone_blueprint in (phone_sms.blp, phone_voice.blp, phone_status.blp):
        app.register_blueprint(phone_blueprint)
    app.before_request(_start_request)
    app.before_request(enforce_access_policy)
    app.before_request(refuse_unknown_query_parameters)
    app.after_request(_finish_request)

    @app.teardown_appcontext
    def _remove_session(_exc):
        database.scoped.remove()

    return app


def _start_request():
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    from flask import current_app

    database = current_app.extensions["database"]
    database.label(database.scoped(), actor="anonymous", request_id=g.request_id)


def _finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("started")
    seconds = time.perf_counter() - started if started else None
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2) if started else None,
        },
    )
    if seconds is not None:
        # By the route's rule (/api/v1/patients/<int:patient_id>), not the path: one series
        # per endpoint, however many ids are asked for.
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(request.method, route, response.status_code, seconds)
    return response
