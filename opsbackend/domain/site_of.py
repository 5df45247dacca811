"""The site a record belongs to, found from its id: the one place that says which site
owns what, for the HTTP layer's site checks (``opsbackend.api.site_policy``).

A record reached through another record (a bag through its course and patient) takes
that record's site. ``site_of`` answers ``MISSING`` for an id that names no record, so
the caller can answer "not found" alike for a missing record and another site's.
"""

from sqlalchemy import String, and_, cast, or_, select, true
from sqlmodel import Session

from opsbackend.domain.scope import Scope
from opsbackend.models import (
    Alert,
    ApiToken,
    ApiTokenSite,
    AuditEvent,
    Bag,
    CallbackRequest,
    Contact,
    Course,
    DayPlan,
    Deviation,
    EvvException,
    Home,
    Nurse,
    Patient,
    PreparedBag,
    PumpReport,
    Site,
    SkillRule,
    Unit,
    Visit,
    WebhookSubscription,
)

MISSING = object()


# Each kind of record: its model and the query of its site given a condition on its id.
def _through_course(model):
    return model, lambda on_id: (select(Patient.site_id)
                                 .join(Course, Course.patient_id == Patient.id)
                                 .join(model, model.course_id == Course.id).where(on_id))


def _through_patient(model):
    return model, lambda on_id: (select(Patient.site_id)
                                 .join(model, model.patient_id == Patient.id).where(on_id))


def _own(model, column):
    return model, lambda on_id: select(column).where(on_id)


# The name an id goes by (in a path or a body) -> its record's model and site query.
SITE_QUERIES = {
    "site_id": _own(Site, Site.id),
    "patient_id": _own(Patient, Patient.site_id),
    "contact_id": _through_patient(Contact),
    "course_id": _through_patient(Course),
    "visit_id": _through_patient(Visit),
    "bag_id": _through_course(Bag),
    "pump_report_id": _through_course(PumpReport),
    "prepared_bag_id": _through_course(PreparedBag),
    "unit_id": _own(Unit, Unit.site_id),
    "nurse_id": _own(Nurse, Nurse.site_id),
    "alert_id": _own(Alert, Alert.site_id),
    "plan_id": _own(DayPlan, DayPlan.site_id),
    "callback_id": _own(CallbackRequest, CallbackRequest.site_id),
    "exception_id": _own(EvvException, EvvException.site_id),
    "webhook_id": _own(WebhookSubscription, WebhookSubscription.site_id),
    "rule_id": _own(SkillRule, SkillRule.site_id),
}
# Records only the audit trail names (by table): the patient's home, a deviation.
AUDITED_ONLY = (_through_patient(Home), _own(Deviation, Deviation.site_id))
# Other names of the same kinds of record in request bodies.
ALIASES = {
    "after_visit_id": "visit_id",
    "from_unit_id": "unit_id",
    "to_unit_id": "unit_id",
    "reported_by_nurse_id": "nurse_id",
    "hung_by_nurse_id": "nurse_id",
    "changed_by_nurse_id": "nurse_id",
    "double_check_nurse_id": "nurse_id",
    "double_check_contact_id": "contact_id",
}


def knows(name: str) -> bool:
    return ALIASES.get(name, name) in SITE_QUERIES


def names_a_site(name: str) -> bool:
    return ALIASES.get(name, name) == "site_id"


def site_of(session: Session, name: str, record_id: int):
    """The site of the record an id named ``name`` points at (None: no site), or MISSING."""
    model, site_query = SITE_QUERIES[ALIASES.get(name, name)]
    row = session.execute(site_query(model.id == record_id)).first()
    return MISSING if row is None else row[0]


def audited_in(scope: Scope):
    """A condition on audit events: those about records of the scope's sites.

    Events about records of no site's kind (tokens aside), or about a record since
    deleted, are for admins of every site only."""
    if scope.is_global:
        return true()
    kinds = [*SITE_QUERIES.values(), *AUDITED_ONLY]
    about_a_site = [
        and_(AuditEvent.table_name == model.__tablename__,
             scope.where(site_query(cast(model.id, String) == AuditEvent.record_id)
                         .scalar_subquery()))
        for model, site_query in kinds
    ]
    tokens = select(cast(ApiTokenSite.token_id, String)).where(scope.where(ApiTokenSite.site_id))
    about_a_site.append(and_(AuditEvent.table_name == ApiToken.__tablename__,
                             AuditEvent.record_id.in_(tokens)))
    return or_(*about_a_site)


def label(name: str) -> str:
    return ALIASES.get(name, name).removesuffix("_id").replace("_", " ")
