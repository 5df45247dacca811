from flask.views import MethodView
from marshmallow import validate

from opsbackend.api import context, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import one_of, short_text
from opsbackend.api.site_policy import EVERY_SITE
from opsbackend.domain.registry import skill_rules
from opsbackend.models.visit import VISIT_KINDS

blp = Blueprint("skill_rules", __name__, url_prefix="/api/v1/skill-rules",
                description="Which skills a visit needs (data, not code)")


class SkillRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = short_text(80, required=True)
    skill = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$"))
    min_age_months = fields.Integer(validate=validate.Range(min=0), allow_none=True)
    max_age_months = fields.Integer(validate=validate.Range(min=1), allow_none=True,
                                    metadata={"description": "exclusive: infants are < 12"})
    visit_kind = one_of(VISIT_KINDS, allow_none=True)
    site_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


@blp.route("", methods=["GET", "POST"])
class SkillRules(MethodView):
    @allow(*EVERYONE, sites=EVERY_SITE)
    @blp.response(200, SkillRuleSchema(many=True))
    def get(self):
        """List skill rules"""
        return skill_rules.list_rules(context.session())

    @allow("admin", sites=EVERY_SITE)
    @blp.arguments(SkillRuleSchema)
    @blp.response(201, SkillRuleSchema)
    def post(self, data):
        """Add a skill rule (applies to visits generated from now on)"""
        rule = skill_rules.create_rule(context.session(), data)
        context.commit()
        return rule


@blp.route("/<int:rule_id>", methods=["PATCH"])
class SkillRuleById(MethodView):
    @allow("admin", sites=EVERY_SITE)
    @blp.arguments(SkillRuleSchema(partial=True))
    @blp.response(200, SkillRuleSchema)
    def patch(self, changes, rule_id):
        """Change or deactivate a skill rule"""
        rule = skill_rules.update_rule(context.session(), rule_id, changes)
        context.commit()
        return rule
