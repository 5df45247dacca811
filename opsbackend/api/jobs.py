from flask.views import MethodView

from opsbackend.api import context, fields
from opsbackend.api.auth import STAFF, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.site_policy import EVERY_SITE
from opsbackend.domain.history import job_status

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs",
                description="The scheduler: each job's last run and the current leader")


class JobRunSchema(Schema):
    job = fields.String()
    started_at = fields.DateTime()
    duration_ms = fields.Float()
    outcome = fields.String()
    examined = fields.Integer()
    alerts_raised = fields.Integer()
    messages_queued = fields.Integer()
    error = fields.String(allow_none=True)
    runner = fields.String()
    interval_seconds = fields.Float(allow_none=True,
                                    metadata={"description": "how often the job runs"})
    stale = fields.Boolean(metadata={"description": "its last run is more than 3 intervals "
                                                    "old: the scheduler is not running it"})


class LeaderSchema(Schema):
    leader = fields.String()
    heartbeat_at = fields.DateTime()
    seconds_since_heartbeat = fields.Float()
    stale = fields.Boolean(metadata={"description": "the leader has not ticked for 3 "
                                                    "leadership intervals (15 s)"})


class JobsSchema(Schema):
    status = fields.String(metadata={
        "enum": ["ok", "stale", "no_leader"],
        "description": "ok; stale: the leader stopped ticking; no_leader: none ever led"})
    leader = fields.Nested(LeaderSchema, allow_none=True)
    jobs = fields.List(fields.Nested(JobRunSchema))


@blp.route("", methods=["GET"])
class Jobs(MethodView):
    @allow(*STAFF, sites=EVERY_SITE)
    @blp.response(200, JobsSchema)
    def get(self):
        """Each job's last run (duration, outcome, counts), the leading scheduler, and
        whether either has stopped ticking"""
        from jobs.definitions import INTERVALS
        from jobs.scheduler import LEADERSHIP_TICK

        return job_status.scheduler_report(context.session(), context.clock().now(),
                                           LEADERSHIP_TICK, INTERVALS)
