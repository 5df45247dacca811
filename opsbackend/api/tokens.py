from types import SimpleNamespace

from flask import current_app
from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PageArgs, one_of, page_of, paging, short_text
from opsbackend.api.site_policy import IN_DOMAIN
from opsbackend.domain.registry import tokens
from opsbackend.models.auth import ROLES

blp = Blueprint(
    "tokens", __name__, url_prefix="/api/v1/tokens", description="API tokens (admins only)"
)


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = short_text(120, required=True)
    role = one_of(ROLES, required=True)
    site_ids = fields.List(
        fields.Integer(), validate=validate.Length(max=50), load_default=list,
        metadata={"description": "the sites the token acts for; none: global (admins only)"})
    nurse_id = fields.Integer(
        allow_none=True, metadata={"description": "a nurse token speaks for this nurse only"})
    token_prefix = fields.String(dump_only=True)
    created_by = fields.String(allow_none=True, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(allow_none=True, dump_only=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "shown only this once"})


class TokenQueryArgs(PageArgs):
    role = one_of(ROLES)
    revoked = fields.Boolean()


@blp.route("", methods=["GET", "POST"])
class Tokens(MethodView):
    @allow("admin", sites=IN_DOMAIN)
    @blp.arguments(TokenQueryArgs, location="query")
    @blp.response(200, page_of(TokenSchema))
    def get(self, args):
        """List tokens (never the tokens themselves)"""
        return tokens.list_tokens(context.session(), context.scope(), **paging(args), **args)

    @allow("admin", sites=IN_DOMAIN)
    @blp.arguments(TokenSchema)
    @blp.response(201, IssuedTokenSchema)
    def post(self, data):
        """Issue a token; the response holds it once"""
        session = context.session()
        record, raw = tokens.grant_token(
            session, context.scope(), created_by=session.info["actor"], **data)
        context.commit()
        return SimpleNamespace(**record.model_dump(), token=raw,
                               site_ids=sorted(tokens.site_ids_of(session, record.id) or ()))


@blp.route("/<int:token_id>", methods=["DELETE"])
class TokenById(MethodView):
    @allow("admin", sites=IN_DOMAIN)
    @blp.response(204)
    def delete(self, token_id):
        """Revoke a token"""
        tokens.revoke_token(context.session(), context.clock(), token_id, context.scope())
        context.commit()
        current_app.extensions["token_cache"].clear()
