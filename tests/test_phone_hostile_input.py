"""Whatever a signed Twilio delivery holds, it is answered and nothing is half-written:
a NUL (which PostgreSQL's text refuses), keys past what an id column holds, a field
missing. Twilio sends none of these on its own; a keypad, a garbled carrier or whoever
holds the signing token can."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opsbackend.models import AuditEvent, InboundMessage, OutboundMessage
from tests.factories import PHI, count_rows, site_world
from tests.phone import reply_text, signed_post, sms, voice

LANDLINE = PHI["landline"]
NURSE = PHI["nurse_phone"]


@pytest.fixture
def world(factory):
    """A site with a nurse, a patient's home with a landline, a family contact."""
    return site_world(factory, PHI)


def test_a_nul_in_an_sms_is_kept_as_unreadable_and_answered(client, database, world):
    response = sms(client, NURSE, "PUMP\x00RUNNING", sid="SM\x00nul")

    assert response.status_code == 200 and "Send HELP" in reply_text(response)
    with database.new_session() as session:
        stored = session.scalars(select(InboundMessage)).one()
    assert stored.body == "PUMP\ufffdRUNNING" and stored.provider_sid == "SM\ufffdnul"


def test_an_sms_without_a_message_sid_is_a_400_with_empty_twiml(client, database, world):
    response = signed_post(client, "/twilio/sms", {"From": NURSE, "Body": "HELP"})

    assert response.status_code == 400 and "<Response" in response.get_data(as_text=True)
    assert count_rows(database, InboundMessage) == 0


def test_a_status_callback_naming_no_row_a_column_could_hold_is_acknowledged(
        client, database, world):
    response = signed_post(client, "/twilio/status?outbox_id=2147483648",
                           {"MessageSid": "SM\x00", "MessageStatus": "delivered"})

    assert response.status_code == 204
    assert count_rows(database, OutboundMessage, OutboundMessage.status == "delivered") == 0


@pytest.mark.parametrize("keys", ["99999999999999999999", "2147483648", "0", "*"])
def test_a_visit_code_no_visit_could_have_is_said_back_and_asked_again(client, world, keys):
    """A keypad takes any length: keys past an id column are no visit, not a 500."""
    answer = voice(client, "/twilio/voice/visit", NURSE, keys)

    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f"there is no visit V{keys}" in text and "visit code" in text


def test_a_nurse_number_no_nurse_could_have_is_a_wrong_pin_counted(client, database, world):
    asked = voice(client, "/twilio/voice/number", LANDLINE, "99999999999999999999")
    pin_step = voice(client, "/twilio/voice/pin?number=99999999999999999999", LANDLINE, "4821")

    assert asked.status_code == 200 and "number=0" in asked.get_data(as_text=True)
    assert pin_step.status_code == 200 and "do not match" in pin_step.get_data(as_text=True)
    assert count_rows(database, AuditEvent, AuditEvent.action == "voice_pin_failed") == 1


def test_a_step_url_naming_no_visit_records_nothing(client, database, world):
    """Our step URLs always name the visit; one that names none a column could hold (only
    a holder of the signing token could send it) is refused, never taken as "the nurse's
    current visit"."""
    nurse = voice(client, "/twilio/voice?nurse=9223372036854775808", LANDLINE)
    bag = voice(client, "/twilio/voice/no-flush?visit=9223372036854775808", NURSE, "1",
                call_sid="CA\x00huge")

    assert nurse.status_code == 200 and bag.status_code == 200
    assert "Not recorded" in bag.get_data(as_text=True)
    assert count_rows(database, AuditEvent, AuditEvent.table_name == "check_in") == 0


def test_a_voice_step_without_a_call_sid_records_nothing(client, database, factory):
    """Twilio always names the call; a step without one has no key to be claimed by, so a
    replay of it could record twice: it records nothing."""
    from opsbackend.models import CheckIn

    crew = factory.crew(phone="+12135550190")
    params = {"From": crew.nurse.phone, "To": "+13105550199", "Digits": "1"}
    step = f"/twilio/voice/action?visit={crew.visit.id}"

    answer = signed_post(client, step, params)
    with_sid = signed_post(client, step, params | {"CallSid": "CA1"})

    assert "Not recorded" in answer.get_data(as_text=True)
    assert "Arrival at visit" in with_sid.get_data(as_text=True)
    assert count_rows(database, CheckIn, CheckIn.visit_id == crew.visit.id) == 1


# The same, searched for: a seeded run (the same examples every time) of each webhook.
PHONES = [NURSE, PHI["contact_phone"], "+13105550101", "+19995550123", LANDLINE]
WORDS = ["ARRIVED", "CHANGED", "PUMP", "DONE", "ACK", "HELP", "STOP", "START", "YES", "CALL",
         "LLAMAR", "NOFLUSH", "LOT", "V1", "V99999999999999999", "ALARM", "RUNNING", "A1",
         "999%", "1e308", "OVERRIDE", "270", "\x00", "٣", "１２"]
ODD = st.one_of(st.text(max_size=40), st.sampled_from(["\x00", "+1310555\x000101", "SM\x00"]))
BODIES = st.one_of(ODD, st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)),
                                 max_size=6).map(" ".join))
# In our own step URLs (what Twilio signs is the URL as sent: URL-safe characters only).
IDS = st.one_of(st.integers(-2**70, 2**70).map(str), st.text("0123456789-_.xyzAZ", max_size=8))
VOICE_STEPS = ["/twilio/voice", "/twilio/voice/number", "/twilio/voice/pin",
               "/twilio/voice/visit", "/twilio/voice/action", "/twilio/voice/no-flush",
               "/twilio/voice/override", "/twilio/voice/alarm"]
SEARCH = settings(max_examples=120, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))


def _sendable(fields: dict) -> dict:
    """As a form can carry them (no lone surrogates)."""
    return {k: v.encode("utf-8", "ignore").decode() for k, v in fields.items()}


@SEARCH
@given(fields=st.fixed_dictionaries({"MessageSid": ODD, "From": st.one_of(
    st.sampled_from(PHONES), ODD), "Body": BODIES}, optional={"To": ODD}))
def test_no_sms_is_a_500(client, world, fields):
    response = signed_post(client, "/twilio/sms", _sendable(fields))

    assert response.status_code in (200, 400), (fields, response.data)


@SEARCH
@given(fields=st.fixed_dictionaries({}, optional={
    "MessageSid": ODD, "MessageStatus": st.one_of(ODD, st.sampled_from(
        ["delivered", "failed", "undelivered", "sent"])), "ErrorCode": st.one_of(ODD, IDS)}),
    outbox_id=IDS)
def test_no_status_callback_is_a_500(client, world, fields, outbox_id):
    from urllib.parse import urlencode

    path = "/twilio/status?" + urlencode({"outbox_id": outbox_id})
    response = signed_post(client, path, _sendable(fields))

    assert response.status_code == 204, (path, fields, response.data)


@SEARCH
@given(step=st.sampled_from(VOICE_STEPS), query=st.dictionaries(
    st.sampled_from(["visit", "nurse", "number", "attempt", "override"]), IDS, max_size=3),
    fields=st.fixed_dictionaries({"CallSid": ODD, "From": st.sampled_from(PHONES)},
                                 optional={"Digits": st.one_of(ODD, st.text("0123456789*#",
                                                                           max_size=24))}))
def test_no_voice_step_is_a_500(client, world, step, query, fields):
    from urllib.parse import urlencode

    path = step + ("?" + urlencode(query) if query else "")
    response = signed_post(client, path, _sendable(fields))

    assert response.status_code == 200, (path, fields, response.data)
