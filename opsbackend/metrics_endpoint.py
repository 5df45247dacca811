"""``GET /metrics``: Prometheus' text format, for the scrape token or a staff API token."""

from flask import Blueprint, Response, current_app, request
from flask_smorest import abort

from opsbackend import metrics
from opsbackend.api.auth import public

blp = Blueprint("metrics", __name__)


@blp.get("/metrics")
@public  # checked below: the scrape token (METRICS_TOKEN) or a staff API token
def scrape():
    """This service's metrics, and the outbox's, alerts' and scheduler's state."""
    settings = current_app.extensions["settings"]
    database = current_app.extensions["database"]
    allowed = metrics.scrape_allowed(database.scoped(), settings.metrics_token,
                                     request.headers.get("Authorization", ""))
    if allowed is None:
        abort(401, message="send the scrape token or a staff API token: "
                           "Authorization: Bearer <token>",
              headers={"WWW-Authenticate": 'Bearer realm="opsbackend"'})
    if not allowed:
        abort(403, message="only staff tokens and the scrape token may read metrics")
    body, content_type = metrics.exposition([database_collector(database)])
    return Response(body, content_type=content_type)


def database_collector(database):
    from jobs.definitions import INTERVALS
    from jobs.scheduler import LEADERSHIP_TICK
    from opsbackend.state_metrics import DatabaseCollector

    return DatabaseCollector(database.scoped(), database.clock.now(), LEADERSHIP_TICK,
                             INTERVALS)
