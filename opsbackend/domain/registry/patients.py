"""Patients with their home and family contacts."""

from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from opsbackend.domain.errors import Conflict, Invalid, NotFound
from opsbackend.domain.records import (
    Page,
    apply_changes,
    explained_refusal,
    get_or_404,
    paginate,
    require_reference,
)
from opsbackend.domain.scope import Scope
from opsbackend.models import Contact, Home, Patient, Site

INFANT_MONTHS = 12
HOME_REQUIRED = ("address_line1", "city", "postal_code")
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code", "country")

# Who the family line reaches: a patient's contacts, at most (the API says so too).
MAX_CONTACTS = 10


def create_patient(session: Session, data: dict, locate=None) -> Patient:
    """Enrol a patient with home and contacts in one flush.

    ``locate(home)`` geocodes a home whose address needs coordinates (None: nobody can).
    """
    data = dict(data)
    home_data = data.pop("home", None)
    contacts_data = data.pop("contacts", [])
    phones = [contact["phone"] for contact in contacts_data]
    if len(phones) != len(set(phones)):
        raise Conflict("two contacts have the same phone", field="contacts")
    patient = Patient(**data)
    patient.contacts = [Contact(**contact) for contact in contacts_data]
    if home_data is not None:
        _require_home_address(home_data)
        patient.home = Home(**home_data)
        _place_new_home(patient.home, home_data, locate)

    def explain():
        require_reference(session, Site, data["site_id"], "site_id")
        _require_unique_study_code(session, data["site_id"], data["study_code"])

    session.add(patient)
    with explained_refusal(session, explain):
        session.flush()
    if patient.home is not None and patient.home.geocode_status == "pending" and locate:
        locate(patient.home)
    return patient


def update_patient(session: Session, patient_id: int, changes: dict, locate=None) -> Patient:
    changes = dict(changes)
    patient = get_or_404(session, Patient, patient_id)
    home_data = changes.pop("home", None)
    site_id = changes.get("site_id", patient.site_id)
    study_code = changes.get("study_code", patient.study_code)
    if (site_id, study_code) != (patient.site_id, patient.study_code):
        require_reference(session, Site, site_id, "site_id")
        _require_unique_study_code(session, site_id, study_code)
    apply_changes(patient, changes)
    if patient.date_of_birth is None and patient.age_months is None:
        raise Invalid("give date_of_birth or age_months", field="date_of_birth")
    if home_data is not None:
        set_home(session, patient, home_data, locate)
    session.flush()
    session.refresh(patient)
    return patient


def set_home(session: Session, patient: Patient, home_data: dict, locate=None) -> Home:
    """Create the patient's home, or change it in place (one home per patient).

    Coordinates given by the client are taken as they are. A new or changed address
    without them is geocoded by ``locate``; with no geocoder its old coordinates are
    dropped and the home needs review, never left pointing at the old place.
    """
    home = session.scalars(select(Home).where(Home.patient_id == patient.id)).first()
    moved = home is None or any(
        field in home_data and home_data[field] != getattr(home, field)
        for field in ADDRESS_FIELDS
    )
    if home is None:
        _require_home_address(home_data)
        home = Home(patient_id=patient.id, **home_data)
        session.add(home)
    else:
        apply_changes(home, home_data)
    if "lat" in home_data or "lon" in home_data:
        home.geocode_status = "manual" if home.lat is not None else "pending"
        home.geocode_detail = None
    elif moved and locate is not None:
        session.flush()
        locate(home)
    elif moved:
        home.lat = home.lon = None
        home.geocode_status = "needs_review"
        home.geocode_detail = "the address has no coordinates and no geocoder is configured"
    session.flush()
    return home


def add_contact(session: Session, patient_id: int, data: dict) -> Contact:
    # The patient's row lock makes two adds at once count in turn.
    get_or_404(session, Patient, patient_id, for_update=True)
    held = session.scalar(select(func.count()).where(Contact.patient_id == patient_id))
    if held >= MAX_CONTACTS:
        raise Conflict(f"patient {patient_id} already has {MAX_CONTACTS} contacts, the most "
                       "a patient may have: remove one first", field="contacts")
    _require_unique_contact_phone(session, patient_id, data["phone"])
    contact = Contact(patient_id=patient_id, **data)
    session.add(contact)
    session.flush()
    return contact


def update_contact(session: Session, patient_id: int, contact_id: int, changes: dict) -> Contact:
    contact = _contact_of(session, patient_id, contact_id)
    if "phone" in changes and changes["phone"] != contact.phone:
        _require_unique_contact_phone(session, patient_id, changes["phone"])
    apply_changes(contact, changes)
    session.flush()
    return contact


def remove_contact(session: Session, patient_id: int, contact_id: int) -> None:
    session.delete(_contact_of(session, patient_id, contact_id))
    session.flush()


def list_patients(
    session: Session, scope: Scope, *, page: int, page_size: int, site_id=None, status=None,
    study_code=None, geocode_status=None,
) -> Page:
    stmt = select(Patient).where(scope.where(Patient.site_id)).order_by(Patient.id)
    if geocode_status is not None:
        stmt = stmt.join(Home, Home.patient_id == Patient.id).where(
            Home.geocode_status == geocode_status
        )
    if site_id is not None:
        stmt = stmt.where(Patient.site_id == site_id)
    if status is not None:
        stmt = stmt.where(Patient.status == status)
    if study_code is not None:
        stmt = stmt.where(Patient.study_code == study_code)
    return paginate(session, stmt, page, page_size)


def age_in_months(patient: Patient, today: date) -> int:
    """Age now; ``age_months`` is the age when the record was created."""
    if patient.date_of_birth is not None:
        born = patient.date_of_birth
        months = (today.year - born.year) * 12 + (today.month - born.month)
        return months - (1 if today.day < born.day else 0)
    recorded_on = patient.created_at.date() if patient.created_at else today
    elapsed = (today.year - recorded_on.year) * 12 + (today.month - recorded_on.month)
    return patient.age_months + max(elapsed, 0)


def is_infant(patient: Patient, today: date) -> bool:
    return age_in_months(patient, today) < INFANT_MONTHS


def _require_home_address(home_data: dict) -> None:
    missing = [f for f in HOME_REQUIRED if home_data.get(f) in (None, "")]
    if missing:
        raise Invalid(f"a new home needs {', '.join(missing)}", field=f"home.{missing[0]}")


def _place_new_home(home: Home, home_data: dict, locate) -> None:
    """Coordinates given are taken as they are; else the geocoder runs after the flush."""
    if home.lat is not None and home.lon is not None:
        home.geocode_status = "manual"
    elif locate is None:
        home.geocode_status = "needs_review"
        home.geocode_detail = "the address has no coordinates and no geocoder is configured"
    else:
        home.geocode_status = "pending"


def _contact_of(session: Session, patient_id: int, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None or contact.patient_id != patient_id:
        raise NotFound(f"Contact {contact_id} of patient {patient_id} does not exist")
    return contact


def _require_unique_study_code(session: Session, site_id: int, study_code: str) -> None:
    clash = select(Patient.id).where(Patient.site_id == site_id, Patient.study_code == study_code)
    if session.scalars(clash).first() is not None:
        raise Conflict(
            f"study code {study_code!r} is already used at site {site_id}", field="study_code"
        )


def _require_unique_contact_phone(session: Session, patient_id: int, phone: str) -> None:
    clash = select(Contact.id).where(Contact.patient_id == patient_id, Contact.phone == phone)
    if session.scalars(clash).first() is not None:
        raise Conflict(f"this patient already has a contact with phone {phone}", field="phone")
