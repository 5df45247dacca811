"""Demo data for a local run: two sites, fourteen patients, six nurses, three units.

Idempotent: every record is looked up by its natural key first, so a second
``seed-demo`` adds nothing. Phone numbers are in the 555-01xx range reserved
for fiction.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from opsbackend import demo_day
from opsbackend.clock import Clock
from opsbackend.domain.infusion import bag_custody, course_lifecycle, courses
from opsbackend.domain.registry import nurses, patients, sites, tokens, units
from opsbackend.domain.scope import Scope
from opsbackend.models import ApiToken, Nurse, Patient, Site, Unit, UserAccount, Visit

SITES = [
    dict(code="CHLA", name="Children's Hospital Los Angeles", region="West",
         timezone="America/Los_Angeles", on_call_phone="+13105550100",
         dispatch_phone="+13105550101"),
    dict(code="CHOP", name="Children's Hospital of Philadelphia", region="Northeast",
         timezone="America/New_York", on_call_phone="+12155550100",
         dispatch_phone="+12155550101"),
]

# (site code, study code, first name, age in months, weight kg, language,
#  address, city, state, postal code, lat, lon, bag interval hours, hours since start;
#  a negative start is a course planned for later)
PATIENTS = [
    # Bag due in about 4 hours; its change visit is WEST-1's (nurse Rosa, +12135550131).
    ("CHLA", "W-001", "Mateo", 7, 7.9, "es", "1200 W 7th St", "Los Angeles", "CA", "90017",
     34.0522, -118.2585, 24, 20),
    ("CHLA", "W-002", "Ava", 62, 19.5, "en", "300 E Colorado Blvd", "Pasadena", "CA", "91101",
     34.1458, -118.1445, 48, 30),
    ("CHLA", "W-003", "Liam", 110, 31.0, "en", "100 W Broadway", "Long Beach", "CA", "90802",
     33.7683, -118.1956, 72, 50),
    ("CHLA", "W-004", "Sofia", 40, 14.2, "es", "200 N Spring St", "Los Angeles", "CA", "90012",
     34.0537, -118.2428, 96, 20),
    ("CHLA", "W-005", "Noah", 150, 42.0, "en", "1 World Way", "Los Angeles", "CA", "90045",
     33.9416, -118.4085, 168, 100),
    ("CHOP", "NE-001", "Emma", 30, 12.5, "en", "3401 Civic Center Blvd", "Philadelphia",
     "PA", "19104", 39.9496, -75.1937, 24, 12),
    ("CHOP", "NE-002", "Olivia", 75, 22.0, "en", "1 Citizens Bank Way", "Philadelphia", "PA",
     "19148", 39.9061, -75.1665, 48, 40),
    ("CHOP", "NE-003", "Elijah", 95, 26.3, "en", "600 Market St", "Wilmington", "DE", "19801",
     39.7420, -75.5480, 72, 10),
    ("CHOP", "NE-004", "Amelia", 130, 35.8, "en", "100 Cooper St", "Camden", "NJ", "08102",
     39.9476, -75.1216, 96, 70),
    ("CHOP", "NE-005", "Lucas", 50, 16.0, "en", "2 Market Sq", "Trenton", "NJ", "08611",
     40.2206, -74.7597, None, None),
    # Overdue from the first run: its bag was due 20 minutes before seed-demo, and nobody
    # changed it. The scheduler raises the missed-bag-change alert within a tick.
    ("CHOP", "NE-006", "Ella", 88, 24.0, "en", "1 S Broad St", "Philadelphia", "PA", "19107",
     39.9510, -75.1636, 24, 24 + 20 / 60),
    # Enrolled far from every base, courses planned: no unit reaches them within 90 minutes
    # (`opsbackend plan-bases --region Northeast --units 3` says where units would).
    ("CHOP", "NE-007", "Noah", 20, 11.0, "en", "501 N 3rd St", "Harrisburg", "PA", "17101",
     40.2644, -76.8836, 24, -48),
    ("CHOP", "NE-008", "Mia", 140, 38.0, "en", "340 N Washington Ave", "Scranton", "PA",
     "18503", 41.4090, -75.6624, 72, -120),
    ("CHLA", "W-006", "Isabella", 66, 20.0, "es", "1300 17th St", "Bakersfield", "CA", "93301",
     35.3789, -119.0194, 48, -72),
]
# Demo visits handed to a unit, so nurses' phones have something to check in to.
ASSIGNED = {"W-001": "WEST-1", "NE-006": "EAST-1"}

CONTACTS = {
    "W-001": dict(name="Lucia", relationship="mother", phone="+12135550111", language="es"),
    "W-002": dict(name="Grace", relationship="mother", phone="+16265550112", language="en"),
    "W-003": dict(name="James", relationship="father", phone="+15625550113", language="en"),
    "W-004": dict(name="Carmen", relationship="grandmother", phone="+13235550114",
                  language="es"),
    "W-005": dict(name="Helen", relationship="mother", phone="+13105550115", language="en"),
    "NE-001": dict(name="Rachel", relationship="mother", phone="+12155550116", language="en"),
    "NE-002": dict(name="Daniel", relationship="father", phone="+12675550117", language="en"),
    "NE-003": dict(name="Sarah", relationship="mother", phone="+13025550118", language="en"),
    "NE-004": dict(name="Mark", relationship="father", phone="+18565550119", language="en"),
    "NE-005": dict(name="Ana", relationship="aunt", phone="+16095550120", language="en"),
    "NE-006": dict(name="Laura", relationship="mother", phone="+12155550121", language="en"),
    "NE-007": dict(name="Beth", relationship="mother", phone="+17175550122", language="en"),
    "NE-008": dict(name="Kyle", relationship="father", phone="+15705550123", language="en"),
    "W-006": dict(name="Rosa", relationship="mother", phone="+16615550124", language="es"),
}

UNITS = [
    dict(call_sign="WEST-1", site="CHLA", base_lat=34.0983, base_lon=-118.2906,
         skills=["pediatric", "infant"]),
    dict(call_sign="WEST-2", site="CHLA", base_lat=33.8500, base_lon=-118.2000,
         skills=["pediatric"]),
    dict(call_sign="EAST-1", site="CHOP", base_lat=39.9500, base_lon=-75.1900,
         skills=["pediatric", "infant"]),
]

NURSES = [
    dict(name="Rosa Alvarez", phone="+12135550131", skills=["pediatric", "infant"],
         language="es", site="CHLA", unit="WEST-1"),
    # Kevin also checks in by voice from a home landline: nurse number (his id), PIN 2468.
    dict(name="Kevin Park", phone="+12135550132", skills=["pediatric"], site="CHLA",
         unit="WEST-1", pin="2468"),
    dict(name="Maya Johnson", phone="+13105550133", skills=["pediatric"], site="CHLA",
         unit="WEST-2"),
    dict(name="Tom Becker", phone="+12155550134", skills=["pediatric", "infant"], site="CHOP",
         unit="EAST-1"),
    dict(name="Priya Shah", phone="+12155550135", skills=["pediatric"], site="CHOP",
         unit="EAST-1"),
    dict(name="Luis Ortega", phone="+12155550136", skills=["pediatric"], language="es",
         site="CHOP"),
]

# The next bag of these patients is in their unit's van, released by the pharmacy.
NEXT_BAGS = {"W-001": dict(pharmacy_bag_id="RX-W001-02", lot="B24117", unit="WEST-1")}

# Home landlines: a voice check-in from one verifies the nurse was there (telephony EVV).
LANDLINES = {"W-001": "+12135550177"}

# Day units work 07:00-19:00 local every day; WEST-1 also covers nights.
DAY_SHIFTS = [dict(weekday=day, starts_at=time(7), ends_at=time(19)) for day in range(7)]
NIGHT_SHIFTS = [dict(weekday=day, starts_at=time(19), ends_at=time(7)) for day in range(7)]


# Who each demo token acts for: the admin is global; the others are CHLA's, the nurse's
# is Rosa's (she records work as herself only).
DEMO_TOKENS = {
    "admin": dict(sites=(), nurse_phone=None),
    "dispatcher": dict(sites=("CHLA",), nurse_phone=None),
    "nurse": dict(sites=("CHLA",), nurse_phone="+12135550131"),
    "viewer": dict(sites=("CHLA",), nurse_phone=None),
}


@dataclass(frozen=True)
class DemoToken:
    token: str
    sites: tuple[str, ...]
    nurse: str | None

    def describe(self) -> str:
        where = ", ".join(self.sites) or "every site"
        return where + (f"; as nurse {self.nurse}" if self.nurse else "")


def seed_demo(session: Session, clock: Clock, secret_key: str) -> dict[str, DemoToken]:
    """Load the demo data; returns a demo API token for each role."""
    site_ids = {spec["code"]: _site(session, spec).id for spec in SITES}
    unit_ids = {spec["call_sign"]: _unit(session, spec, site_ids).id for spec in UNITS}
    for spec in NURSES:
        _nurse(session, spec, site_ids, unit_ids)
    for row in PATIENTS:
        _patient_with_course(session, clock, row, site_ids)
    demo_day.seed_day(session, clock)
    return {role: _demo_token(session, secret_key, role, site_ids)
            for role in DEMO_TOKENS}


# Board users: the dispatcher works both demo sites; the admin is global.
DEMO_USERS = [("dispatcher@example.org", "dispatcher", ("CHLA", "CHOP")),
              ("admin@example.org", "admin", ())]


def seed_demo_users(session: Session, secret_key: str) -> dict[str, str]:
    """The demo's board users (after ``seed_demo``); returns each one's email and password,
    derived from SECRET_KEY as the demo tokens are, so ``make run`` can print them."""
    from opsbackend.domain.registry import users

    site_ids = dict(session.execute(select(Site.code, Site.id)).all())
    sign_ins = {}
    for email, role, codes in DEMO_USERS:
        password = users.demo_password(secret_key, email)
        if session.scalars(select(UserAccount.id).where(UserAccount.email == email)).first():
            sign_ins[email] = password
            continue
        users.create_user(session, email=email, role=role, password=password,
                          site_ids=[site_ids[code] for code in codes])
        sign_ins[email] = password
    return sign_ins


def _site(session, spec) -> Site:
    existing = session.scalars(select(Site).where(Site.code == spec["code"])).first()
    return existing or sites.create_site(session, spec)


def _unit(session, spec, site_ids) -> Unit:
    existing = session.scalars(select(Unit).where(Unit.call_sign == spec["call_sign"])).first()
    if existing:
        return existing
    data = {k: v for k, v in spec.items() if k != "site"} | {"site_id": site_ids[spec["site"]]}
    data["shifts"] = DAY_SHIFTS + (NIGHT_SHIFTS if spec["call_sign"] == "WEST-1" else [])
    return units.create_unit(session, data)


def _nurse(session, spec, site_ids, unit_ids) -> Nurse:
    existing = nurses.find_by_phone(session, spec["phone"])
    if existing:
        return existing
    data = {k: v for k, v in spec.items() if k not in ("site", "unit")}
    data["site_id"] = site_ids[spec["site"]]
    data["unit_id"] = unit_ids.get(spec.get("unit"))
    return nurses.create_nurse(session, data)


def _patient_with_course(session, clock, row, site_ids) -> Patient:
    now = clock.now()
    (site, code, first_name, months, weight, lang, line1, city, state, postcode, lat, lon,
     interval, hours_since_start) = row
    site_id = site_ids[site]
    existing = session.scalars(
        select(Patient).where(Patient.site_id == site_id, Patient.study_code == code)
    ).first()
    if existing:
        return existing
    patient = patients.create_patient(
        session,
        dict(
            site_id=site_id, study_code=code, first_name=first_name, weight_kg=weight,
            language=lang, date_of_birth=_months_before(now.date(), months),
            home=dict(address_line1=line1, city=city, state=state, postal_code=postcode,
                      lat=lat, lon=lon, landline_phone=LANDLINES.get(code)),
            contacts=[CONTACTS[code] | {"is_primary": True}],
        ),
    )
    if interval is None:
        return patient  # enrolled, no course ordered yet
    start = now - timedelta(hours=hours_since_start)
    course = courses.create_course(
        session,
        clock,
        dict(patient_id=patient.id, planned_start_at=start, bag_interval_hours=interval,
             pump_model="CADD-Solis", pump_serial=f"CS-{code}"),
    )
    if hours_since_start < 0:
        return patient  # planned, not started
    course_lifecycle.start_course(session, clock, course.id, at=start)
    if code in ASSIGNED:
        _hand_visit_to(session, course.id, ASSIGNED[code])
    if code in NEXT_BAGS:
        _next_bag_in_the_van(session, clock, course.id, NEXT_BAGS[code])
    return patient


def _next_bag_in_the_van(session, clock, course_id: int, spec: dict) -> None:
    """Demo custody: the pharmacy released the next bag this morning; the van has it cold.
    A nurse's ``CHANGED 270 LOT <lot>`` hangs it and closes its chain at the home."""
    now = clock.now()
    everyone = Scope.everything()
    prepared = bag_custody.release_bag(session, everyone, clock, course_id, dict(
        pharmacy_bag_id=spec["pharmacy_bag_id"], lot=spec["lot"], volume_ml=270,
        expires_at=now + timedelta(days=5), prepared_at=now - timedelta(hours=10),
        released_at=now - timedelta(hours=9), location="pharmacy", handed_by="pharmacist",
        temperature_c=4.8))
    unit = session.scalars(select(Unit).where(Unit.call_sign == spec["unit"])).one()
    bag_custody.add_event(session, everyone, clock, prepared.id, dict(
        kind="handed_over", occurred_at=now - timedelta(hours=2), place="unit",
        unit_id=unit.id, location=f"van {unit.call_sign} cooler", received_by="unit crew",
        storage="fridge", temperature_c=5.1))


def _hand_visit_to(session, course_id: int, call_sign: str) -> None:
    """Demo data: the first bag-change visit goes to the unit (its window may be past)."""
    unit = session.scalars(select(Unit).where(Unit.call_sign == call_sign)).one()
    visit = session.scalars(
        select(Visit).where(Visit.course_id == course_id, Visit.kind == "bag_change")
        .order_by(Visit.window_start)
    ).first()
    if visit is not None:
        visit.unit_id, visit.status = unit.id, "assigned"
        session.flush()


def _demo_token(session, secret_key: str, role: str, site_ids: dict) -> DemoToken:
    spec = DEMO_TOKENS[role]
    nurse = nurses.find_by_phone(session, spec["nurse_phone"]) if spec["nurse_phone"] else None
    raw = tokens.demo_token(secret_key, role)
    known = select(ApiToken.id).where(ApiToken.token_hash == tokens.hash_token(raw))
    if session.scalars(known).first() is None:
        tokens.grant_token(session, Scope.everything(), name=f"demo {role}", role=role,
                           raw=raw, created_by="seed-demo",
                           site_ids=[site_ids[code] for code in spec["sites"]],
                           nurse_id=nurse.id if nurse else None)
    return DemoToken(raw, spec["sites"], nurse.name if nurse else None)


def _months_before(today: date, months: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, min(today.day, 28))

