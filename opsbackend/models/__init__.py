"""Every table of opsbackend. Import from here so all mappers are configured."""

from opsbackend.models.alert import Alert, Deviation, EscalationStep
from opsbackend.models.audit import AuditEvent
from opsbackend.models.auth import ApiToken, ApiTokenSite
from opsbackend.models.base import Record
from opsbackend.models.callback import CallbackRequest
from opsbackend.models.course import Bag, Course, CourseEvent, CourseInterruption, PumpReport
from opsbackend.models.custody import CustodyEvent, PreparedBag
from opsbackend.models.evv import EvvException
from opsbackend.models.geocode import GeocodeCacheEntry
from opsbackend.models.job import JobRun, SchedulerHeartbeat
from opsbackend.models.messaging import InboundMessage, OutboundMessage
from opsbackend.models.nurse import Nurse
from opsbackend.models.patient import Contact, Home, Patient
from opsbackend.models.plan import DayPlan
from opsbackend.models.planning import PlanningScenario, PlanningScenarioSite
from opsbackend.models.safety import (
    AcknowledgementPause,
    BagChangeRequest,
    CallStep,
    PinGuard,
    SmsOptOut,
)
from opsbackend.models.site import Site
from opsbackend.models.unit import Unit, UnitShift, UnitShiftException
from opsbackend.models.user import UserAccount, UserAccountSite
from opsbackend.models.visit import CheckIn, SkillRule, Visit
from opsbackend.models.webhook import WebhookDelivery, WebhookSubscription

__all__ = [
    "AcknowledgementPause",
    "BagChangeRequest",
    "CallStep",
    "PinGuard",
    "SmsOptOut",
    "Alert",
    "ApiToken",
    "ApiTokenSite",
    "AuditEvent",
    "Bag",
    "CallbackRequest",
    "CheckIn",
    "Contact",
    "Course",
    "CourseEvent",
    "CourseInterruption",
    "CustodyEvent",
    "DayPlan",
    "Deviation",
    "EscalationStep",
    "EvvException",
    "GeocodeCacheEntry",
    "Home",
    "InboundMessage",
    "JobRun",
    "Nurse",
    "OutboundMessage",
    "Patient",
    "PlanningScenario",
    "PlanningScenarioSite",
    "PreparedBag",
    "PumpReport",
    "Record",
    "SchedulerHeartbeat",
    "Site",
    "SkillRule",
    "Unit",
    "UnitShift",
    "UnitShiftException",
    "UserAccount",
    "UserAccountSite",
    "Visit",
    "WebhookDelivery",
    "WebhookSubscription",
]
