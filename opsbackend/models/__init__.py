"""Every table of opsbackend. Import from here so all mappers are configured."""

from opsbackend.models.alert import Alert, Deviation
from opsbackend.models.audit import AuditEvent
from opsbackend.models.auth import ApiToken
from opsbackend.models.base import Record
from opsbackend.models.course import Bag, Course, CourseEvent, CourseInterruption, PumpReport
from opsbackend.models.messaging import InboundMessage, OutboundMessage
from opsbackend.models.nurse import Nurse
from opsbackend.models.patient import Contact, Home, Patient
from opsbackend.models.site import Site
from opsbackend.models.unit import Unit, UnitShift, UnitShiftException
from opsbackend.models.visit import CheckIn, SkillRule, Visit

__all__ = [
    "Alert",
    "ApiToken",
    "AuditEvent",
    "Bag",
    "CheckIn",
    "Contact",
    "Course",
    "CourseEvent",
    "CourseInterruption",
    "Deviation",
    "Home",
    "InboundMessage",
    "Nurse",
    "OutboundMessage",
    "Patient",
    "PumpReport",
    "Record",
    "Site",
    "SkillRule",
    "Unit",
    "UnitShift",
    "UnitShiftException",
    "Visit",
]
