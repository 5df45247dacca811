"""Voice keypad check-ins: greet, ask for the visit code, then the action, confirm by voice.

    /twilio/voice            greeting; asks for the visit code (a nurse's registered phone),
                             or, from a patient's home landline, for the nurse number
    /twilio/voice/number     the nurse number; asks for the PIN
    /twilio/voice/pin        checks number and PIN (``nurse_pins``); asks for the visit code
    /twilio/voice/visit      the code; asks for the action: 1 arrived, 2 bag changed,
                             3 pump alarm, 4 departed
    /twilio/voice/action     records 1 or 4; for 2 asks the no-flush confirmation, for 3
                             which alarm
    /twilio/voice/no-flush   1: the line was not flushed; records the bag change
    /twilio/voice/override   9: another unit's visit anyway (an EVV exception follows)
    /twilio/voice/alarm      records the alarm

Each step records through the same domain functions as SMS (``check_ins``).
A step (CallSid + step) is claimed in ``call_step`` in the same transaction as its
effect: a retried or parallel delivery records nothing twice. A nurse who proved
who they are by PIN is carried from step to step as ``?nurse=ID`` in the URLs we
hand Twilio: those URLs are under Twilio's signature, so a caller cannot forge them.
Silence at a menu asks the same question again (the keys that led there ride along
in the redirect URL; a PIN never does).
"""

from dataclasses import dataclass

from flask import Blueprint, current_app, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.twiml.voice_response import VoiceResponse

from opsbackend.api import context
from opsbackend.domain.errors import DomainError, NotFound
from opsbackend.domain.history.audit import act_as, record_event
from opsbackend.domain.infusion.course_lifecycle import hanging_bag
from opsbackend.domain.messaging import templates
from opsbackend.domain.phone import check_ins
from opsbackend.domain.phone.check_ins import Caller
from opsbackend.domain.registry import nurse_pins, nurses
from opsbackend.domain.registry.phones import InvalidPhoneNumber, to_e164
from opsbackend.models import CallStep, Home, Nurse, Visit
from opsbackend.phone.fields import arg_id, form_text, record_id, sid
from opsbackend.phone.signatures import twilio_signed

blp = Blueprint("twilio_voice", __name__)
ALARMS = {"1": "occlusion", "2": "air_in_line", "3": "low_battery", "4": "reservoir_empty",
          "5": "reservoir_low", "6": "malfunction", "7": "other"}
ACTIONS = {"1": "arrived", "2": "bag_changed", "3": "pump_status", "4": "departed"}
VOICES = {"en": "en-US", "es": "es-MX"}
PIN_ATTEMPTS = 3  # per call; nurse_pins also locks a PIN after repeated failures
SAY = {
    "en": {
        "greeting": "Home infusion check in.",
        "ask_visit": "Enter the visit code, then press pound.",
        "ask_action": "Visit {visit}. Press 1 for arrived, 2 for bag changed, 3 for a pump "
                      "alarm, 4 for departed.",
        "ask_alarm": "Which alarm? 1 occlusion, 2 air in line, 3 low battery, 4 reservoir "
                     "empty, 5 reservoir low, 6 malfunction, 7 other.",
        "arrived": "Arrival at visit {visit} recorded. Goodbye.",
        "bag_changed": "Bag change recorded. The next bag is due in {hours} hours. Never "
                       "flush the line. Goodbye.",
        "pump_status": "Pump alarm, {alarm}, recorded. Text PUMP RUNNING when it runs again. "
                       "Goodbye.",
        "departed": "Departure from visit {visit} recorded. Goodbye.",
        "ask_no_flush": "Never flush the line at a bag change. Press 1 to confirm the line "
                        "was not flushed.",
        "ask_override": "Visit {visit} is assigned to another unit. Press 9 to check in "
                        "anyway; dispatch will be told. Any other key to enter another code.",
        "flushed": "Bag change not recorded. A flushed line needs dispatch now. Goodbye.",
        "invalid": "Sorry, that is not a choice.",
        "not_recorded": "Not recorded: {reason}.",
        "refused": "Sorry, this phone is not registered for check in. Please call dispatch. "
                   "Goodbye.",
        "ask_number": "Home infusion check in. Enter your nurse number, then press pound.",
        "ask_pin": "Enter your PIN, then press pound.",
        "pin_wrong": "That nurse number and PIN do not match.",
        "call_dispatch": "Please call dispatch. Goodbye.",
    },
    "es": {
        "greeting": "Registro de infusión en casa.",
        "ask_visit": "Marque el código de la visita y luego la tecla numeral.",
        "ask_action": "Visita {visit}. Marque 1 llegada, 2 bolsa cambiada, 3 alarma de bomba, "
                      "4 salida.",
        "ask_alarm": "¿Qué alarma? 1 oclusión, 2 aire en la vía, 3 batería baja, 4 depósito "
                     "vacío, 5 depósito bajo, 6 falla, 7 otra.",
        "arrived": "Llegada a la visita {visit} registrada. Adiós.",
        "bag_changed": "Cambio de bolsa registrado. La próxima bolsa vence en {hours} horas. "
                       "Nunca lave la vía. Adiós.",
        "pump_status": "Alarma de bomba, {alarm}, registrada. Envíe BOMBA FUNCIONANDO cuando "
                       "funcione. Adiós.",
        "departed": "Salida de la visita {visit} registrada. Adiós.",
        "ask_no_flush": "Nunca lave la vía al cambiar la bolsa. Marque 1 para confirmar que "
                        "no lavó la vía.",
        "ask_override": "La visita {visit} está asignada a otra unidad. Marque 9 para "
                        "registrarse de todos modos; se avisará a despacho. Otra tecla para "
                        "marcar otro código.",
        "flushed": "Cambio de bolsa no registrado. Si lavó la vía, llame a despacho ahora. "
                   "Adiós.",
        "invalid": "Lo siento, esa opción no existe.",
        "not_recorded": "No registrado: {reason}.",
        "refused": "Lo siento, este teléfono no está registrado. Llame a despacho. Adiós.",
        "ask_number": "Registro de infusión en casa. Marque su número de enfermera y luego la "
                      "tecla numeral.",
        "ask_pin": "Marque su PIN y luego la tecla numeral.",
        "pin_wrong": "El número de enfermera y el PIN no coinciden.",
        "call_dispatch": "Llame a despacho. Adiós.",
    },
}


@dataclass(frozen=True)
class Identified:
    nurse: Nurse
    method: str  # "registered_phone" or "pin", as a check-in records it


@blp.post("/twilio/voice")
@twilio_signed
def greeting():
    who = _identified()
    if who is None:
        if _from_home_landline():
            attempt = _attempt()
            response = _response()
            _gather_both(response, "ask_number", url_for("twilio_voice.number", attempt=attempt))
            return _xml(response)
        return _refuse()
    response = _response()
    _say(response, who.nurse, "greeting")
    _gather(response, who.nurse, "ask_visit", _url("twilio_voice.visit", who), finish="#")
    return _xml(response)


@blp.post("/twilio/voice/number")
@twilio_signed
def number():
    if not _from_home_landline():
        return _refuse()
    attempt = _attempt()
    digits = _digits()
    response = _response()
    _gather_both(response, "ask_pin", url_for(
        "twilio_voice.pin", number=record_id(digits) or 0, attempt=attempt))
    return _xml(response)


@blp.post("/twilio/voice/pin")
@twilio_signed
def pin():
    if not _from_home_landline():
        return _refuse()
    session, clock = context.session(), context.clock()
    attempt = _attempt()
    nurse = nurse_pins.verify(session, clock, arg_id("number") or 0,
                              form_text("Digits"), caller=_caller_phone())
    context.commit()  # a failure is recorded (and counts toward the lock) either way
    if nurse is None and attempt >= PIN_ATTEMPTS:
        return _refuse(f"{attempt} wrong nurse numbers or PINs")
    response = _response()
    if nurse is None:
        _say_both(response, "pin_wrong")
        again = url_for("twilio_voice.greeting", attempt=attempt + 1)  # never the PIN in a URL
        _gather_both(response, "ask_number", url_for("twilio_voice.number", attempt=attempt + 1),
                     again=again)
        return _xml(response)
    who = Identified(nurse, "pin")
    # Silence asks again from the greeting, which knows the nurse now: the PIN stays unsaid.
    _gather(response, nurse, "ask_visit", _url("twilio_voice.visit", who), finish="#",
            again=_url("twilio_voice.greeting", who))
    return _xml(response)


@blp.post("/twilio/voice/visit")
@twilio_signed
def visit():
    who = _identified()
    if who is None:
        return _refuse()
    nurse = who.nurse
    response = _response()
    digits = _digits()
    visit_id = record_id(digits)
    try:
        if visit_id is None:  # keys no visit code could be: said back as they were pressed
            raise NotFound(f"there is no visit V{digits}", field="visit",
                           reason="visit_not_found", visit=digits[:20])
        found = check_ins.resolve_visit(context.session(), context.clock(), nurse, visit_id)
    except DomainError as exc:
        if exc.reason == "visit_other_unit":  # the nurse may say it is theirs anyway
            _gather(response, nurse, "ask_override",
                    _url("twilio_voice.override", who, visit=exc.params["visit"]), digits=1,
                    visit=exc.params["visit"])
            return _xml(response)
        _say(response, nurse, "not_recorded", reason=templates.refusal(exc, nurse.language))
        _gather(response, nurse, "ask_visit", _url("twilio_voice.visit", who), finish="#")
        return _xml(response)
    _gather(response, nurse, "ask_action",
            _url("twilio_voice.action", who, visit=found.id), digits=1, visit=found.id)
    return _xml(response)


@blp.post("/twilio/voice/override")
@twilio_signed
def override():
    """9: check in at another unit's assigned visit anyway; the check-in carries the
    override (``?override=1`` from here on) and its EVV exception tells dispatch."""
    who = _identified()
    if who is None:
        return _refuse()
    visit_id = arg_id("visit")
    response = _response()
    if _digits() != "9":
        _gather(response, who.nurse, "ask_visit", _url("twilio_voice.visit", who), finish="#")
        return _xml(response)
    _gather(response, who.nurse, "ask_action",
            _url("twilio_voice.action", who, visit=visit_id, override=1), digits=1,
            visit=visit_id)
    return _xml(response)


@blp.post("/twilio/voice/action")
@twilio_signed
def action():
    who = _identified()
    if who is None:
        return _refuse()
    visit_id = arg_id("visit")
    choice = ACTIONS.get(_digits())
    response = _response()
    if choice is None:
        _say(response, who.nurse, "invalid")
        _gather(response, who.nurse, "ask_action",
                _url("twilio_voice.action", who, visit=visit_id), digits=1, visit=visit_id)
    elif choice == "bag_changed":
        _gather(response, who.nurse, "ask_no_flush",
                _url("twilio_voice.no_flush", who, visit=visit_id), digits=1)
    elif choice == "pump_status":
        _gather(response, who.nurse, "ask_alarm",
                _url("twilio_voice.alarm", who, visit=visit_id), digits=1)
    else:
        _record(response, who, visit_id, choice)
    return _xml(response)


@blp.post("/twilio/voice/no-flush")
@twilio_signed
def no_flush():
    """A bag change is recorded only with the nurse's word that the line was not flushed."""
    who = _identified()
    if who is None:
        return _refuse()
    response = _response()
    if _digits() == "1":
        _record(response, who, arg_id("visit"), "bag_changed")
    else:
        _say(response, who.nurse, "flushed")
        response.hangup()
    return _xml(response)


@blp.post("/twilio/voice/alarm")
@twilio_signed
def alarm():
    who = _identified()
    if who is None:
        return _refuse()
    visit_id = arg_id("visit")
    alarm_type = ALARMS.get(_digits())
    response = _response()
    if alarm_type is None:
        _say(response, who.nurse, "invalid")
        _gather(response, who.nurse, "ask_alarm",
                _url("twilio_voice.alarm", who, visit=visit_id), digits=1)
    else:
        _record(response, who, visit_id, "pump_status", alarm_type=alarm_type)
    return _xml(response)


def _record(response, who: Identified, visit_id, kind, alarm_type=None):
    nurse = who.nurse
    call_sid = sid("CallSid")
    if visit_id is None or call_sid is None:
        # Our step URLs name the visit and Twilio names the call: never guess a visit, and
        # never record a step that has no key to be claimed by.
        _not_recorded(response, nurse, NotFound("no visit named", field="visit",
                                                reason="visit_not_found", visit="-"))
        return
    session, clock = context.session(), context.clock()
    values = {"visit": visit_id, "hours": "-",
              "alarm": templates.alarm_name(alarm_type, nurse.language) if alarm_type else ""}
    if not _claim_step(session, call_sid, kind, nurse, visit_id):
        # An earlier (or parallel) delivery of this step recorded it: say it again.
        if kind == "bag_changed":
            values["hours"] = _hours_to_next_bag(session, clock, visit_id)
        _say(response, nurse, kind, **values)
        response.hangup()
        return
    forced = request.args.get("override") == "1"
    caller = Caller(channel="voice", phone=_caller_phone(), identity_method=who.method,
                    override=forced)
    try:
        with session.begin_nested():
            if kind == "departed":  # as SMS DONE: only from a visit someone arrived at
                found = check_ins.leaving_visit(session, clock, nurse, visit_id)
            else:
                found = check_ins.resolve_visit(session, clock, nurse, visit_id,
                                                override=forced)
            check_in = _perform(session, clock, nurse, found, caller, kind, alarm_type, values)
            check_in.details = check_in.details | {"call_sid": call_sid}
    except DomainError as exc:
        session.rollback()  # the claim goes too: nothing was recorded
        _not_recorded(response, nurse, exc)
        return
    context.commit()  # the step's claim and its effect together
    _say(response, nurse, kind, **values)
    response.hangup()


def _not_recorded(response, nurse, refusal: DomainError) -> None:
    _say(response, nurse, "not_recorded", reason=templates.refusal(refusal, nurse.language))
    response.hangup()


def _claim_step(session, call_sid: str, step: str, nurse, visit_id) -> bool:
    """Claim (CallSid, step) in this transaction; False when another delivery holds it (a
    parallel one waits on the unique index until the first commits or rolls back)."""
    try:
        with session.begin_nested():
            session.add(CallStep(call_sid=call_sid, step=step, nurse_id=nurse.id,
                                 visit_id=visit_id if _visit_exists(session, visit_id) else None))
    except IntegrityError:
        return False
    return True


def _visit_exists(session, visit_id) -> bool:
    return visit_id is not None and session.get(Visit, visit_id) is not None


def _hours_to_next_bag(session, clock, visit_id) -> int | str:
    visit = session.get(Visit, visit_id) if visit_id else None
    course = check_ins.course_of(session, visit) if visit else None
    bag = hanging_bag(session, course) if course else None
    if bag is None:
        return "-"
    return max(0, round((bag.due_at - clock.now()).total_seconds() / 3600))


def _perform(session, clock, nurse, visit, caller, kind, alarm_type, values):
    rules = context.rules()
    if kind == "arrived":
        return check_ins.arrive(session, clock, nurse, visit, caller)
    if kind == "bag_changed":
        check_in, change = check_ins.change_bag(session, clock, nurse, visit, caller,
                                                no_flush=True, rules=rules)
        hours = (change.new_bag.due_at - change.new_bag.hung_at).total_seconds() / 3600
        values["hours"] = int(hours)
        return check_in
    if kind == "pump_status":
        check_in, _report = check_ins.report_pump(session, clock, nurse, visit, caller,
                                                  status="alarm", alarm_type=alarm_type,
                                                  rules=rules)
        return check_in
    return check_ins.depart(session, clock, nurse, visit, caller)


def _identified() -> Identified | None:
    """The nurse calling: by their registered phone, or by the PIN step's ``?nurse=ID``."""
    session = context.session()
    phone = _caller_phone()
    nurse = nurses.active_by_phone(session, phone) if phone else None
    if nurse is not None:
        act_as(session, f"nurse:{nurse.id} via voice (phone)")
        return Identified(nurse, "registered_phone")
    nurse_id = arg_id("nurse")
    nurse = session.get(Nurse, nurse_id) if nurse_id is not None else None
    if nurse is not None and nurse.active and _from_home_landline():
        act_as(session, f"nurse:{nurse.id} via voice (pin)")
        return Identified(nurse, "pin")
    return None


def _from_home_landline() -> bool:
    phone = _caller_phone()
    return phone is not None and context.session().scalar(
        select(Home.id).where(Home.landline_phone == phone).limit(1)
    ) is not None


def _url(endpoint: str, who: Identified, **values) -> str:
    if request.args.get("override") == "1" and "visit" in values:
        values["override"] = 1  # carried from the override step to the recording one
    if who.method == "pin":
        values["nurse"] = who.nurse.id
    return url_for(endpoint, **values)


def _refuse(why: str = "unknown caller"):
    session = context.session()
    record_event(session, context.clock(), action="voice_refused", table_name="nurse",
                 details={"caller": form_text("From")[:40],
                          "call_sid": sid("CallSid"), "why": why})
    context.commit()
    response = VoiceResponse()
    if why == "unknown caller":
        _say_both(response, "refused")
    else:
        _say_both(response, "pin_wrong")
        _say_both(response, "call_dispatch")
    response.hangup()
    return _xml(response)


def _caller_phone() -> str | None:
    try:
        return to_e164(form_text("From"), current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhoneNumber:
        return None


def _response() -> VoiceResponse:
    return VoiceResponse()


def _text(nurse, key, **values) -> str:
    texts = SAY.get(nurse.language, SAY["en"])
    return texts[key].format(**values)


def _say(response, nurse, key, **values) -> None:
    response.say(_text(nurse, key, **values), language=VOICES.get(nurse.language, "en-US"))


def _say_both(response, key) -> None:
    """Before we know who is calling: English, then Spanish."""
    for language in ("en", "es"):
        response.say(SAY[language][key], language=VOICES[language])


def _gather_both(response, key, action, again=None) -> None:
    gather = response.gather(input="dtmf", action=action, method="POST", timeout=10,
                             finish_on_key="#")
    for language in ("en", "es"):
        gather.say(SAY[language][key], language=VOICES[language])
    response.redirect(again or _asked_again(), method="POST")


def _gather(response, nurse, key, action, *, digits=None, finish=None, again=None,
            **values) -> None:
    options = {"input": "dtmf", "action": action, "method": "POST", "timeout": 10}
    if digits:
        options["num_digits"] = digits
    if finish:
        options["finish_on_key"] = finish
    gather = response.gather(**options)
    gather.say(_text(nurse, key, **values), language=VOICES.get(nurse.language, "en-US"))
    # No key pressed: ask again rather than hang up on a busy nurse.
    response.redirect(again or _asked_again(), method="POST")


def _attempt() -> int:
    """Which try at the nurse number and PIN this call is on (1 to PIN_ATTEMPTS)."""
    return request.args.get("attempt", 1, type=int)


def _digits() -> str:
    """The keys pressed: posted by <Gather>, or carried in the URL when a step is asked again."""
    return form_text("Digits") or request.args.get("digits", "")


def _asked_again() -> str:
    """This step's URL with the keys that led here, so a silent caller hears the same
    question (Twilio's redirect posts no Digits)."""
    args = request.args.to_dict()
    if keys := form_text("Digits"):
        args["digits"] = keys
    return url_for(request.endpoint, **args)


def _xml(response):
    return str(response), 200, {"Content-Type": "application/xml"}
