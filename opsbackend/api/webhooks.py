"""Outbound webhook subscriptions per site and their delivery logs (admins only)."""

from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, one_of, page_of, paging
from opsbackend.api.site_policy import CREATES, LISTING, RECORD
from opsbackend.domain.interop import webhook_subscriptions
from opsbackend.domain.interop.webhooks import EVENT_TYPES
from opsbackend.models.webhook import DELIVERY_STATUSES, SUBSCRIPTION_STATUSES
from opsbackend.webhooks.targets import MAX_URL_LENGTH

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1/webhooks",
    description="Signed outbound webhooks (Standard Webhooks): subscriptions per site, "
                "and what was delivered",
)
ID = validate.Range(min=1, max=2**31 - 1)


class WebhookSchema(Schema):
    id = fields.Integer(dump_only=True)
    site_id = fields.Integer(required=True, validate=ID)
    url = fields.String(required=True, validate=validate.Length(min=8, max=MAX_URL_LENGTH),
                        metadata={"description": "https:// in production; never a private "
                                                 "or loopback address there"})
    events = fields.List(one_of(EVENT_TYPES), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)))
    description = fields.String(validate=validate.Regexp(r"^[^\x00-\x1f]{0,200}$"),
                                allow_none=True)
    status = one_of(SUBSCRIPTION_STATUSES, dump_only=True)
    consecutive_failures = fields.Integer(dump_only=True)
    disabled_at = fields.DateTime(dump_only=True, allow_none=True)
    disabled_reason = fields.String(dump_only=True, allow_none=True)
    created_by = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)


class CreatedWebhookSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={
        "description": "whsec_ + base64 key: verifies the webhook-signature header; shown "
                       "only this once"})


class WebhookQueryArgs(PageArgs):
    site_id = fields.Integer(validate=ID)
    status = one_of(SUBSCRIPTION_STATUSES)


class DeliverySchema(Schema):
    id = fields.Integer()
    message_id = fields.String(metadata={"description": "the webhook-id header"})
    event_type = fields.String()
    status = one_of(DELIVERY_STATUSES)
    attempts = fields.Integer()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    last_response_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    body = fields.String(metadata={"description": "the JSON body as sent and signed"})


class DeliveryQueryArgs(PageArgs):
    status = one_of(DELIVERY_STATUSES)


@blp.route("", methods=["GET", "POST"])
class Webhooks(MethodView):
    @allow("admin", sites=LISTING)
    @blp.arguments(WebhookQueryArgs, location="query")
    @blp.response(200, page_of(WebhookSchema))
    def get(self, args):
        """List webhook subscriptions (never their secrets)"""
        return webhook_subscriptions.list_subscriptions(
            context.session(), context.scope(), **paging(args), **args)

    @allow("admin", sites=CREATES)
    @blp.arguments(WebhookSchema)
    @blp.response(201, CreatedWebhookSchema)
    @blp.alt_response(422, response="DEFAULT_ERROR",
                      description="a URL the policy refuses, or a site not yours")
    def post(self, data):
        """Subscribe a URL to a site's events; the response holds the secret once"""
        session = context.session()
        created = webhook_subscriptions.create_subscription(
            session, context.scope(), data, current_app.extensions["settings"].webhook_policy(),
            created_by=session.info.get("actor"))
        context.commit()
        return {**created.subscription.model_dump(), "secret": created.secret}


@blp.route("/<int:webhook_id>", methods=["GET", "DELETE"])
class WebhookById(MethodView):
    @allow("admin", sites=RECORD)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    def get(self, webhook_id):
        """Get a webhook subscription"""
        return webhook_subscriptions.get_subscription(context.session(), context.scope(),
                                                      webhook_id)

    @allow("admin", sites=RECORD)
    @blp.response(204)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    def delete(self, webhook_id):
        """Delete a subscription: what it had queued is cancelled, its log stays"""
        webhook_subscriptions.delete_subscription(context.session(), context.scope(),
                                                  context.clock(), webhook_id)
        context.commit()


@blp.route("/<int:webhook_id>/enable", methods=["POST"])
class EnableWebhook(MethodView):
    @allow("admin", sites=RECORD)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="DEFAULT_ERROR")
    @blp.alt_response(409, response="DEFAULT_ERROR", description="already active")
    def post(self, webhook_id):
        """Enable a subscription disabled after failing; its alert closes"""
        subscription = webhook_subscriptions.enable_subscription(
            context.session(), context.scope(), context.clock(), webhook_id)
        context.commit()
        return subscription


@blp.route("/<int:webhook_id>/deliveries", methods=["GET"])
class Deliveries(MethodView):
    @allow("admin", sites=RECORD)
    @blp.arguments(DeliveryQueryArgs, location="query")
    @blp.response(200, page_of(DeliverySchema))
    @blp.alt_response(404, response="DEFAULT_ERROR")
    def get(self, args, webhook_id):
        """The subscription's delivery log, newest first"""
        return webhook_subscriptions.list_deliveries(
            context.session(), context.scope(), webhook_id, **paging(args), **args)
