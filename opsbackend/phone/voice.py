"""Voice keypad check-ins: greet, ask for the visit code, then the action, confirm by voice.

    /twilio/voice            greeting; asks for the visit code (registered nurses only)
    /twilio/voice/visit      the code; asks for the action: 1 arrived, 2 bag changed,
                             3 pump alarm, 4 departed
    /twilio/voice/action     records 1, 2 or 4; for 3 asks which alarm
    /twilio/voice/alarm      records the alarm

Each step records through the same domain functions as SMS (``check_ins``).
A retried step (same CallSid and step) records nothing twice.
"""

from flask import Blueprint, current_app, request, url_for
from sqlalchemy import String, cast, select
from twilio.twiml.voice_response import VoiceResponse

from opsbackend.api import context
from opsbackend.domain import check_ins, templates
from opsbackend.domain.audit import record_event
from opsbackend.domain.check_ins import Caller
from opsbackend.domain.errors import DomainError
from opsbackend.domain.phones import InvalidPhoneNumber, to_e164
from opsbackend.models import CheckIn, Nurse
from opsbackend.phone.signatures import twilio_signed

blp = Blueprint("twilio_voice", __name__)
ALARMS = {"1": "occlusion", "2": "air_in_line", "3": "low_battery", "4": "reservoir_empty",
          "5": "reservoir_low", "6": "malfunction", "7": "other"}
ACTIONS = {"1": "arrived", "2": "bag_changed", "3": "pump_status", "4": "departed"}
VOICES = {"en": "en-US", "es": "es-MX"}
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
        "invalid": "Sorry, that is not a choice.",
        "not_recorded": "Not recorded: {reason}.",
        "refused": "Sorry, this phone is not registered for check in. Please call dispatch. "
                   "Goodbye.",
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
        "invalid": "Lo siento, esa opción no existe.",
        "not_recorded": "No registrado: {reason}.",
        "refused": "Lo siento, este teléfono no está registrado. Llame a despacho. Adiós.",
    },
}


@blp.post("/twilio/voice")
@twilio_signed
def greeting():
    nurse = _nurse()
    if nurse is None:
        return _refuse()
    response = _response()
    _say(response, nurse, "greeting")
    _gather(response, nurse, "ask_visit", url_for("twilio_voice.visit"), finish="#")
    return _xml(response)


@blp.post("/twilio/voice/visit")
@twilio_signed
def visit():
    nurse = _nurse()
    if nurse is None:
        return _refuse()
    response = _response()
    digits = request.form.get("Digits", "")
    try:
        found = check_ins.resolve_visit(context.session(), context.clock(), nurse,
                                        int(digits) if digits.isdigit() else -1)
    except DomainError as exc:
        _say(response, nurse, "not_recorded", reason=templates.refusal(exc, nurse.language))
        _gather(response, nurse, "ask_visit", url_for("twilio_voice.visit"), finish="#")
        return _xml(response)
    _gather(response, nurse, "ask_action",
            url_for("twilio_voice.action", visit=found.id), digits=1, visit=found.id)
    return _xml(response)


@blp.post("/twilio/voice/action")
@twilio_signed
def action():
    nurse = _nurse()
    if nurse is None:
        return _refuse()
    visit_id = request.args.get("visit", type=int)
    choice = ACTIONS.get(request.form.get("Digits", ""))
    response = _response()
    if choice is None:
        _say(response, nurse, "invalid")
        _gather(response, nurse, "ask_action", url_for("twilio_voice.action", visit=visit_id),
                digits=1, visit=visit_id)
    elif choice == "pump_status":
        _gather(response, nurse, "ask_alarm", url_for("twilio_voice.alarm", visit=visit_id),
                digits=1)
    else:
        _record(response, nurse, visit_id, choice)
    return _xml(response)


@blp.post("/twilio/voice/alarm")
@twilio_signed
def alarm():
    nurse = _nurse()
    if nurse is None:
        return _refuse()
    visit_id = request.args.get("visit", type=int)
    alarm_type = ALARMS.get(request.form.get("Digits", ""))
    response = _response()
    if alarm_type is None:
        _say(response, nurse, "invalid")
        _gather(response, nurse, "ask_alarm", url_for("twilio_voice.alarm", visit=visit_id),
                digits=1)
    else:
        _record(response, nurse, visit_id, "pump_status", alarm_type=alarm_type)
    return _xml(response)


def _record(response, nurse, visit_id, kind, alarm_type=None):
    session, clock = context.session(), context.clock()
    call_sid = request.form.get("CallSid", "")
    values = {"visit": visit_id, "alarm": (alarm_type or "").replace("_", " "), "hours": "-"}
    if not _already_recorded(session, call_sid, kind):
        caller = Caller(channel="voice", phone=_caller_phone())
        try:
            with session.begin_nested():
                found = check_ins.resolve_visit(session, clock, nurse, visit_id)
                check_in = _perform(session, clock, nurse, found, caller, kind, alarm_type,
                                    values)
                check_in.details = check_in.details | {"call_sid": call_sid}
        except DomainError as exc:
            _say(response, nurse, "not_recorded", reason=templates.refusal(exc, nurse.language))
            response.hangup()
            return
        context.commit()
    _say(response, nurse, kind, **values)
    response.hangup()


def _perform(session, clock, nurse, visit, caller, kind, alarm_type, values):
    rules = context.rules()
    if kind == "arrived":
        return check_ins.arrive(session, clock, nurse, visit, caller)
    if kind == "bag_changed":
        check_in, change = check_ins.change_bag(session, clock, nurse, visit, caller,
                                                rules=rules)
        hours = (change.new_bag.due_at - change.new_bag.hung_at).total_seconds() / 3600
        values["hours"] = int(hours)
        return check_in
    if kind == "pump_status":
        check_in, _report = check_ins.report_pump(session, clock, nurse, visit, caller,
                                                  status="alarm", alarm_type=alarm_type,
                                                  rules=rules)
        return check_in
    return check_ins.depart(session, clock, nurse, visit, caller)


def _already_recorded(session, call_sid: str, kind: str) -> bool:
    if not call_sid:
        return False
    return session.scalars(
        select(CheckIn.id).where(CheckIn.kind == kind, CheckIn.channel == "voice",
                                 cast(CheckIn.details, String).like(f'%"{call_sid}"%'))
    ).first() is not None


def _nurse() -> Nurse | None:
    phone = _caller_phone()
    session = context.session()
    nurse = session.scalars(
        select(Nurse).where(Nurse.phone == phone, Nurse.active.is_(True))
    ).first() if phone else None
    return nurse


def _refuse():
    session = context.session()
    record_event(session, context.clock(), action="voice_refused", table_name="nurse",
                 details={"caller": request.form.get("From", "")[:40],
                          "call_sid": request.form.get("CallSid", "")[:64]})
    context.commit()
    response = VoiceResponse()
    response.say(SAY["en"]["refused"], voice="alice", language="en-US")
    response.say(SAY["es"]["refused"], voice="alice", language="es-MX")
    response.hangup()
    return _xml(response)


def _caller_phone() -> str | None:
    try:
        return to_e164(request.form.get("From", ""), current_app.config["DEFAULT_PHONE_REGION"])
    except InvalidPhoneNumber:
        return None


def _response() -> VoiceResponse:
    return VoiceResponse()


def _text(nurse, key, **values) -> str:
    texts = SAY.get(nurse.language, SAY["en"])
    return texts[key].format(**values)


def _say(response, nurse, key, **values) -> None:
    response.say(_text(nurse, key, **values), language=VOICES.get(nurse.language, "en-US"))


def _gather(response, nurse, key, action, *, digits=None, finish=None, **values) -> None:
    options = {"input": "dtmf", "action": action, "method": "POST", "timeout": 10}
    if digits:
        options["num_digits"] = digits
    if finish:
        options["finish_on_key"] = finish
    gather = response.gather(**options)
    gather.say(_text(nurse, key, **values), language=VOICES.get(nurse.language, "en-US"))
    # No key pressed: ask again rather than hang up on a busy nurse.
    response.redirect(request.url, method="POST")


def _xml(response):
    return str(response), 200, {"Content-Type": "application/xml"}
