from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import (
    PageArgs,
    PhoneNumber,
    TimeZoneName,
    one_of,
    page_of,
    paging,
    short_text,
)
from opsbackend.api.site_policy import EVERY_SITE, LISTING, RECORD
from opsbackend.domain.records import get_or_404
from opsbackend.domain.registry import sites
from opsbackend.models import Site
from opsbackend.models.site import REGIONS
from opsbackend.routing.problem import OBJECTIVES

blp = Blueprint("sites", __name__, url_prefix="/api/v1/sites", description="Trial sites")


class SiteSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = short_text(20, required=True)
    name = short_text(200, required=True)
    region = one_of(REGIONS, required=True)
    timezone = TimeZoneName(required=True, metadata={"example": "America/New_York"})
    on_call_phone = PhoneNumber(allow_none=True)
    dispatch_phone = PhoneNumber(allow_none=True, metadata={"description": "the dispatch desk"})
    active = fields.Boolean()
    routing_objective = one_of(OBJECTIVES, metadata={
        "description": "what day plans minimise: distance (total travel) or fleet (units "
                       "first, then travel)"})
    late_unit_grace_minutes = fields.Integer(validate=validate.Range(min=1, max=240), metadata={
        "description": "no check-in this long after a visit's window opened: late_unit"})
    callback_alert_minutes = fields.Integer(validate=validate.Range(min=1, max=1440), metadata={
        "description": "a family's call-back request open this long: callback_overdue"})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SiteQueryArgs(PageArgs):
    region = one_of(REGIONS)
    active = fields.Boolean()


@blp.route("", methods=["GET", "POST"])
class Sites(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(SiteQueryArgs, location="query")
    @blp.response(200, page_of(SiteSchema))
    def get(self, args):
        """List sites"""
        return sites.list_sites(context.session(), context.scope(), **paging(args), **args)

    @allow("admin", sites=EVERY_SITE)
    @blp.arguments(SiteSchema)
    @blp.response(201, SiteSchema)
    def post(self, data):
        """Create a site"""
        site = sites.create_site(context.session(), data)
        context.commit()
        return site


@blp.route("/<int:site_id>", methods=["GET", "PATCH"])
class SiteById(MethodView):
    @allow(*EVERYONE, sites=RECORD)
    @blp.response(200, SiteSchema)
    def get(self, site_id):
        """Get a site"""
        return get_or_404(context.session(), Site, site_id)

    @allow("admin", sites=RECORD)
    @blp.arguments(SiteSchema(partial=True))
    @blp.response(200, SiteSchema)
    def patch(self, changes, site_id):
        """Change a site"""
        site = sites.update_site(context.session(), site_id, changes)
        context.commit()
        return site
