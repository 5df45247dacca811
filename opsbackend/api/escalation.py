from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import one_of
from opsbackend.api.site_policy import CREATES, LISTING
from opsbackend.domain.alerting import escalation
from opsbackend.domain.errors import Forbidden
from opsbackend.models.alert import ALERT_KINDS, ESCALATION_TARGETS

blp = Blueprint("escalation", __name__, url_prefix="/api/v1/escalation-ladders",
                description="Who is messaged, and when, until an alert is acknowledged")


class RungSchema(Schema):
    after_minutes = fields.Integer(required=True, validate=validate.Range(min=0, max=24 * 60),
                                   metadata={"description": "minutes after the previous step"})
    targets = fields.List(one_of(ESCALATION_TARGETS), required=True,
                          validate=validate.Length(min=1))


class LadderSchema(Schema):
    site_id = fields.Integer(allow_none=True, load_default=None,
                             metadata={"description": "empty: the default ladder"})
    alert_kind = one_of(ALERT_KINDS, allow_none=True, load_default=None,
                        metadata={"description": "empty: every kind"})
    steps = fields.List(fields.Nested(RungSchema), required=True,
                        validate=validate.Length(min=1, max=10))


class StepSchema(Schema):
    id = fields.Integer()
    site_id = fields.Integer(allow_none=True)
    alert_kind = fields.String(allow_none=True)
    step = fields.Integer()
    after_minutes = fields.Integer()
    targets = fields.List(fields.String())


class RungInForceSchema(Schema):
    step = fields.Integer()
    after_minutes = fields.Integer()
    targets = fields.List(fields.String())


class LadderInForceSchema(Schema):
    site_id = fields.Integer()
    alert_kind = fields.String()
    source = fields.String(metadata={"description": (
        "where the ladder comes from: site_kind or site (configured for this site), "
        "default_kind or default (the default rows, no site), built_in (nothing configured)")})
    is_default = fields.Boolean(metadata={"description": "false only for a site's own ladder"})
    steps = fields.List(fields.Nested(RungInForceSchema), attribute="rungs")


class LadderQueryArgs(Schema):
    site_id = fields.Integer()
    alert_kind = one_of(ALERT_KINDS)


@blp.route("", methods=["GET", "PUT"])
class Ladders(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(LadderQueryArgs, location="query")
    @blp.response(200, LadderInForceSchema(many=True))
    def get(self, args):
        """The ladder in force for each site and alert kind, and whether it is a default"""
        return escalation.ladders_in_force(context.session(), context.scope(), **args)

    @allow("admin", sites=CREATES)
    @blp.arguments(LadderSchema)
    @blp.response(200, StepSchema(many=True))
    def put(self, data):
        """Replace one ladder: a site's (or the default), for one alert kind or all"""
        if data["site_id"] is None and not context.scope().is_global:
            raise Forbidden("the default ladder is every site's: only a global admin sets it",
                            field="site_id")
        rows = escalation.set_ladder(context.session(), data["site_id"], data["alert_kind"],
                                     data["steps"])
        context.commit()
        return rows


class AcknowledgementPauseSchema(Schema):
    id = fields.Integer(dump_only=True)
    site_id = fields.Integer(allow_none=True, load_default=None,
                             validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "empty: the default"})
    alert_kind = one_of(ALERT_KINDS, allow_none=True, load_default=None,
                        metadata={"description": "empty: every kind"})
    minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=24 * 60),
                             metadata={"description": "how long an acknowledgement pauses "
                                                      "the ladder"})


@blp.route("/acknowledgement-pauses", methods=["GET", "PUT"])
class AcknowledgementPauses(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.response(200, AcknowledgementPauseSchema(many=True))
    def get(self):
        """The acknowledgement pauses set (default 30 minutes where none is)"""
        return escalation.list_acknowledgement_pauses(context.session(), context.scope())

    @allow("admin", sites=CREATES)
    @blp.arguments(AcknowledgementPauseSchema)
    @blp.response(200, AcknowledgementPauseSchema)
    def put(self, data):
        """Set how long an acknowledgement pauses a site's (or the default) ladder, for one
        alert kind or all; then the ladder resumes while the danger stands"""
        if data["site_id"] is None and not context.scope().is_global:
            raise Forbidden("the default pause is every site's: only a global admin sets it",
                            field="site_id")
        row = escalation.set_acknowledgement_pause(context.session(), data["site_id"],
                                                   data["alert_kind"], data["minutes"])
        context.commit()
        return row
