"""Which skills a visit needs, as data (the ``skill_rule`` table), managed through the API."""

from sqlalchemy import select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict
from opsbackend.domain.records import apply_changes, get_or_404, require_reference
from opsbackend.models import Site, SkillRule

# The rules every deployment starts with (migration 0002 writes the same rows).
DEFAULT_SKILL_RULES = (
    dict(name="infant", skill="infant", max_age_months=12),
    dict(name="pediatric", skill="pediatric", max_age_months=216),
)


def list_rules(session: Session) -> list[SkillRule]:
    return list(session.scalars(select(SkillRule).order_by(SkillRule.id)))


def create_rule(session: Session, data: dict) -> SkillRule:
    require_reference(session, Site, data.get("site_id"), "site_id")
    _require_unique_name(session, data["name"])
    rule = SkillRule(**data)
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, rule_id: int, changes: dict) -> SkillRule:
    rule = get_or_404(session, SkillRule, rule_id)
    require_reference(session, Site, changes.get("site_id"), "site_id")
    if "name" in changes and changes["name"] != rule.name:
        _require_unique_name(session, changes["name"])
    apply_changes(rule, changes)
    session.flush()
    return rule


def _require_unique_name(session: Session, name: str) -> None:
    if session.scalars(select(SkillRule.id).where(SkillRule.name == name)).first() is not None:
        raise Conflict(f"a skill rule named {name!r} already exists", field="name")
