from flask.views import MethodView
from marshmallow import Schema, fields

from opsbackend.api import context
from opsbackend.api.auth import STAFF, allow
from opsbackend.api.blueprint import Blueprint
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
    error = fields.String()
    runner = fields.String()


class LeaderSchema(Schema):
    leader = fields.String()
    heartbeat_at = fields.DateTime()


class JobsSchema(Schema):
    leader = fields.Nested(LeaderSchema, allow_none=True)
    jobs = fields.List(fields.Nested(JobRunSchema))


@blp.route("", methods=["GET"])
class Jobs(MethodView):
    @allow(*STAFF)
    @blp.response(200, JobsSchema)
    def get(self):
        """Each job's last run (duration, outcome, counts) and the leading scheduler"""
        session = context.session()
        return {"leader": job_status.leader(session), "jobs": job_status.last_runs(session)}
