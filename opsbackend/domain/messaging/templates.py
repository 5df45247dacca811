"""SMS texts in English and Spanish.

Bodies carry no diagnosis or drug names: study codes, first names and local times only.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

TEMPLATES = {
    "alert.missed_bag_change": {
        "en": "ALERT {alert_ref}: bag change MISSED for {study_code}, bag {sequence} was due "
              "{due}. Reply ACK when someone is on it.",
        "es": "ALERTA {alert_ref}: cambio de bolsa NO realizado para {study_code}, bolsa "
              "{sequence} vencía {due}. Responda ACK cuando alguien se encargue.",
    },
    "alert.at_risk": {
        "en": "AT RISK {alert_ref}: {study_code} bag {sequence} is due {due} and no unit is on "
              "site yet. Reply ACK when handled.",
        "es": "EN RIESGO {alert_ref}: la bolsa {sequence} de {study_code} vence {due} y ninguna "
              "unidad ha llegado. Responda ACK cuando se encargue.",
    },
    "alert.pump_alarm_unresolved": {
        "en": "ALERT {alert_ref}: pump alarm ({alarm}) for {study_code} since {since} is not "
              "resolved. Reply ACK when someone is on it.",
        "es": "ALERTA {alert_ref}: alarma de bomba ({alarm}) de {study_code} desde {since} sin "
              "resolver. Responda ACK cuando alguien se encargue.",
    },
    "alert.unassigned_visit": {
        "en": "ALERT {alert_ref}: visit {visit_code} for {study_code} starts {start} and has no "
              "unit. Reply ACK when assigned.",
        "es": "ALERTA {alert_ref}: la visita {visit_code} de {study_code} empieza {start} y no "
              "tiene unidad. Responda ACK al asignarla.",
    },
    "alert.scheduler_down": {
        "en": "ALERT {alert_ref}: the opsbackend scheduler has stopped for 2+ minutes: missed "
              "bag changes and pump alarms are NOT being watched. Check the servers now; "
              "reply ACK when someone is on it.",
        "es": "ALERTA {alert_ref}: el planificador de opsbackend lleva 2+ minutos detenido: "
              "NO se vigilan cambios de bolsa ni alarmas de bomba. Revise los servidores; "
              "responda ACK cuando alguien se encargue.",
    },
    "alert.late_unit": {
        "en": "LATE {alert_ref}: no check-in at {study_code} visit {visit_code}, window opened "
              "{start}. Text ARRIVED when there, or reply ACK and update the ETA.",
        "es": "RETRASO {alert_ref}: sin registro de llegada en {study_code}, visita {visit_code}, "
              "ventana desde {start}. Envíe LLEGUE al llegar, o responda ACK y actualice la hora.",
    },
    "alert.callback_overdue": {
        "en": "CALL BACK {alert_ref}: the family of {study_code} asked for a call {since} and "
              "nobody has called yet. Reply ACK when someone is calling.",
        "es": "LLAMAR {alert_ref}: la familia de {study_code} pidió una llamada {since} y nadie "
              "ha llamado aún. Responda ACK cuando alguien llame.",
    },
    "alert.staff_opted_out": {
        "en": "ALERT {alert_ref}: {staff_phone} texted STOP; our SMS, alerts included, cannot "
              "reach it until it texts START. Call them; reply ACK when handled.",
        "es": "ALERTA {alert_ref}: {staff_phone} envió STOP; nuestros SMS, alertas incluidas, "
              "no le llegan hasta que envíe START. Llámele; responda ACK cuando se encargue.",
    },
    "alert.delivery_failed": {
        "en": "SMS FAILED {alert_ref}: a message about {study_code} could not be delivered. "
              "Reach them another way (see the messages list); reply ACK when handled.",
        "es": "SMS FALLIDO {alert_ref}: no se pudo entregar un mensaje sobre {study_code}. "
              "Contacte de otra forma (vea la lista de mensajes); responda ACK cuando se "
              "encargue.",
    },
    "alert.acknowledged": {
        "en": "Thanks. Alert {alert_ref} acknowledged; escalation stopped.",
        "es": "Gracias. Alerta {alert_ref} confirmada; se detuvo la escalada.",
    },
}


def render(template: str, language: str, **values) -> str:
    texts = TEMPLATES[template]
    return texts.get(language, texts["en"]).format(**values)


# Our sites are in the US: US English and US Spanish (which keeps "PST", not "-0800").
LOCALES = {"en": "en_US", "es": "es_US"}
DAY_FORMATS = {"en": "EEE MMM dd", "es": "EEE d 'de' MMM"}


TIME_FORMATS = {"en": "EEE MMM d HH:mm zzz", "es": "EEE d 'de' MMM HH:mm zzz"}


def local_time(at: datetime, timezone: str, language: str = "en") -> str:
    """How a person reads a moment: "Wed Nov 25 14:05 PST" ("mié 25 de nov 14:05 PST").

    The date is always there: a weekday alone cannot tell a bag overdue since last week,
    or a 7-day bag's next change, from this week's."""
    return format_datetime(at, TIME_FORMATS.get(language, TIME_FORMATS["en"]),
                           tzinfo=ZoneInfo(timezone), locale=LOCALES.get(language, "en_US"))


def load_locales() -> None:
    """Load Babel's CLDR data for every language we write in, now rather than in a new
    worker's first reply in that language (about 0.1 s each)."""
    for language in LOCALES:
        local_time(datetime(2026, 1, 1, tzinfo=UTC), "America/Los_Angeles", language)


FAMILY_TEMPLATES = {
    "reminder.day_before": {
        "en": "Reminder: the infusion nurse visits {first_name} tomorrow, {day} between {start} "
              "and {end}. Reply YES to confirm, CALL to talk to us, STOP to opt out.",
        "es": "Recordatorio: la enfermera visita a {first_name} mañana, {day} entre {start} y "
              "{end}. Responda SI para confirmar, LLAMAR para hablar con nosotros, STOP para "
              "no recibir más.",
    },
    "reminder.day_of": {
        "en": "Today: the infusion nurse visits {first_name} between {start} and {end}. Reply "
              "YES to confirm or CALL to talk to us.",
        "es": "Hoy: la enfermera visita a {first_name} entre {start} y {end}. Responda SI para "
              "confirmar o LLAMAR para hablar con nosotros.",
    },
}
TEMPLATES.update(FAMILY_TEMPLATES)


def local_clock(at: datetime, timezone: str, language: str = "en") -> str:
    """The time of day with its zone, "14:05 PST": on the night clocks fall back, 01:30
    happens twice, and only the zone ("PDT", "PST") tells which."""
    return format_datetime(at, "HH:mm zzz", tzinfo=ZoneInfo(timezone),
                           locale=LOCALES.get(language, "en_US"))


def local_day(at: datetime, timezone: str, language: str = "en") -> str:
    """The day: "Wed Nov 25", "mié 25 de nov"."""
    return format_datetime(at, DAY_FORMATS.get(language, DAY_FORMATS["en"]),
                           tzinfo=ZoneInfo(timezone), locale=LOCALES.get(language, "en_US"))


NURSE_REPLIES = {
    "nurse.arrived": {
        "en": "Recorded: arrived at {study_code} (V{visit_id}) {time}. Bag {sequence} due {due}.",
        "es": "Registrado: llegada a {study_code} (V{visit_id}) {time}. Bolsa {sequence} vence "
              "{due}.",
    },
    "nurse.changed": {
        "en": "Recorded: bag {old_sequence} changed {time}{late}. Bag {new_sequence} hung, next "
              "change due {due}. Never flush the line.",
        "es": "Registrado: bolsa {old_sequence} cambiada {time}{late}. Bolsa {new_sequence} "
              "colocada, próximo cambio {due}. Nunca lave la vía.",
    },
    "nurse.pump": {
        "en": "Recorded: pump {status} for {study_code} at {time}.{alarm_note} Bag {sequence} "
              "due {due}.",
        "es": "Registrado: bomba {status} de {study_code} a las {time}.{alarm_note} Bolsa "
              "{sequence} vence {due}.",
    },
    "nurse.late_note": {
        "en": " ({minutes} min late)",
        "es": " ({minutes} min tarde)",
    },
    "nurse.alarm_note": {
        "en": " The alarm stays open until you text PUMP RUNNING.",
        "es": " La alarma sigue abierta hasta que envíe BOMBA FUNCIONANDO.",
    },
    "nurse.done": {
        "en": "Recorded: left {study_code} (V{visit_id}) at {time}. Thank you.",
        "es": "Registrado: salida de {study_code} (V{visit_id}) a las {time}. Gracias.",
    },
    "nurse.help": {
        "en": "Text ARRIVED V123, CHANGED V123 250 (new bag mL), PUMP V123 RUNNING or PUMP V123 "
              "ALARM OCCLUSION 80%, DONE V123, ACK. The code may be left out when you have one "
              "visit now.",
        "es": "Envíe LLEGUE V123, CAMBIO V123 250 (mL de la bolsa nueva), BOMBA V123 FUNCIONANDO "
              "o BOMBA V123 ALARMA OCLUSION 80%, LISTO V123, ACK. Puede omitir el código si "
              "tiene una sola visita.",
    },
    "nurse.not_understood": {
        "en": "Not recorded: {problem}. Send {usage}",
        "es": "No registrado: {problem}. Envíe {usage}",
    },
    "nurse.not_recorded": {
        "en": "Not recorded: {problem}.",
        "es": "No registrado: {problem}.",
    },
    "ack.none": {
        "en": "No open alert was sent to this number.",
        "es": "No hay alertas abiertas enviadas a este número.",
    },
    "unknown_sender": {
        "en": "This number is not registered for home infusion messages. Please call your care "
              "team.",
        "es": "Este número no está registrado para mensajes de infusión en casa. Llame a su "
              "equipo de atención.",
    },
    "family.confirmed": {
        "en": "Thank you. The visit on {day} between {start} and {end} is confirmed.",
        "es": "Gracias. La visita del {day} entre {start} y {end} está confirmada.",
    },
    "family.no_visit": {
        "en": "Thank you. There is no upcoming visit to confirm.",
        "es": "Gracias. No hay ninguna visita próxima para confirmar.",
    },
    "family.call": {
        "en": "Thank you. The care team will call you back soon.",
        "es": "Gracias. El equipo de atención le llamará pronto.",
    },
    "family.help": {
        "en": "Home infusion messages. For help call {phone}. Reply STOP to opt out.",
        "es": "Mensajes de infusión en casa. Para ayuda llame al {phone}. Responda STOP para no "
              "recibir más.",
    },
    "family.stopped": {
        "en": "You will get no more messages. Reply START to receive them again.",
        "es": "No recibirá más mensajes. Responda START para recibirlos de nuevo.",
    },
    "staff.stopped": {
        "en": "You will get no more SMS from us, safety alerts included. Your site's dispatch "
              "has been told. Reply START to receive them again.",
        "es": "No recibirá más SMS nuestros, tampoco alertas de seguridad. Se avisó a "
              "despacho de su sitio. Responda START para recibirlos de nuevo.",
    },
    "staff.started": {
        "en": "You will receive our SMS and safety alerts again.",
        "es": "Volverá a recibir nuestros SMS y alertas de seguridad.",
    },
    "family.started": {
        "en": "You will receive home infusion messages again. Reply STOP to opt out.",
        "es": "Volverá a recibir mensajes de infusión en casa. Responda STOP para no recibir más.",
    },
    "family.not_understood": {
        "en": "Sorry, we did not understand. Reply YES to confirm the visit, CALL to talk to us, "
              "HELP for help, STOP to opt out.",
        "es": "No entendimos. Responda SI para confirmar la visita, LLAMAR para hablar con "
              "nosotros, AYUDA para ayuda, STOP para no recibir más.",
    },
}
TEMPLATES.update(NURSE_REPLIES)

USAGE = {
    None: {"en": "HELP for the list of commands.", "es": "AYUDA para ver los comandos."},
    "arrived": {"en": "ARRIVED V123.", "es": "LLEGUE V123."},
    "changed": {"en": "CHANGED V123 250 LOT A1234 NOFLUSH (new bag mL, lot optional; "
                      "NOFLUSH: the line was not flushed).",
                "es": "CAMBIO V123 250 LOTE A1234 SINLAVAR (mL, lote opcional; SINLAVAR: no "
                      "se lavó la vía)."},
    "pump": {"en": "PUMP V123 RUNNING, PUMP V123 PAUSED or PUMP V123 ALARM OCCLUSION 80%.",
             "es": "BOMBA V123 FUNCIONANDO, BOMBA V123 PAUSADA o BOMBA V123 ALARMA OCLUSION 80%."},
    "done": {"en": "DONE V123.", "es": "LISTO V123."},
    "ack": {"en": "ACK or ACK A12.", "es": "ACK o ACK A12."},
}

PROBLEMS = {
    "empty": {"en": "the message was empty", "es": "el mensaje está vacío"},
    "unknown_command": {"en": "unknown command {detail}", "es": "comando desconocido {detail}"},
    "bad_volume": {"en": "the volume must be mL, 1 to 1000",
                   "es": "el volumen debe ser en mL, de 1 a 1000"},
    "missing_pump_status": {"en": "say how the pump is", "es": "indique cómo está la bomba"},
    "bad_pump_status": {"en": "unknown pump status", "es": "estado de bomba desconocido"},
    "missing_alarm_type": {
        "en": "say which alarm (OCCLUSION, AIR, BATTERY, LOW, EMPTY, MALFUNCTION, OTHER)",
        "es": "indique la alarma (OCLUSION, AIRE, BATERIA, BAJO, VACIO, FALLA, OTRO)"},
    "bad_battery": {"en": "battery must be 0% to 100%", "es": "la batería debe ser 0% a 100%"},
    "bad_lot": {"en": "after LOT give the lot as on the label, e.g. LOT A1234",
                "es": "después de LOTE indique el lote de la etiqueta, p. ej. LOTE A1234"},
    "extra_words": {"en": "did not understand {detail}", "es": "no se entendió {detail}"},
}


# Why a check-in was refused, by the domain error's reason (``DomainError.reason``).
REFUSALS = {
    "no_current_visit": {"en": "no current visit; add the code",
                         "es": "no tiene una visita ahora; agregue el código"},
    "several_visits": {"en": "{count} visits now ({codes}); add the code",
                       "es": "{count} visitas ahora ({codes}); agregue el código"},
    "visit_not_found": {"en": "there is no visit V{visit}", "es": "no existe la visita V{visit}"},
    "visit_other_unit": {"en": "V{visit} is assigned to another unit; to check in anyway "
                               "(reported to dispatch) add OVERRIDE",
                         "es": "V{visit} está asignada a otra unidad; para registrarse de "
                               "todos modos (se informa a despacho) agregue FORZAR"},
    "not_arrived": {"en": "nobody arrived at V{visit}; send ARRIVED V{visit} first",
                    "es": "nadie llegó a V{visit}; envíe LLEGUE V{visit} primero"},
    "no_visit_arrived": {"en": "no visit you arrived at and have not left; add the code",
                         "es": "no hay una visita a la que llegó y no salió; agregue el código"},
    "visit_closed": {"en": "V{visit} is {status}", "es": "V{visit} está {status}"},
    "visit_transition": {"en": "V{visit} is {status}; it cannot become {to}",
                         "es": "V{visit} está {status}; no puede pasar a {to}"},
    "no_infusion_course": {"en": "V{visit} has no infusion course",
                           "es": "V{visit} no tiene una infusión en curso"},
    "course_not_active": {"en": "the infusion is {status}", "es": "la infusión está {status}"},
    "no_flush_unconfirmed": {
        "en": "confirm you did not flush the line: CHANGED V{visit} NOFLUSH",
        "es": "confirme que no lavó la vía: CAMBIO V{visit} SINLAVAR"},
}
# Status words in a refusal ("visita" is feminine; "infusión" too).
STATUS_WORDS = {
    "es": {
        "unassigned": "sin asignar", "assigned": "asignada", "en_route": "en camino",
        "on_site": "en el domicilio", "completed": "terminada", "cancelled": "cancelada",
        "missed": "perdida", "scheduled": "programada", "active": "activa",
        "paused": "en pausa", "discontinued": "suspendida",
    },
}


# Pump states and alarm types as a nurse says them (the stored values are English slugs).
PUMP_STATES = {
    "en": {"running": "running", "paused": "paused", "stopped": "stopped", "alarm": "alarm"},
    "es": {"running": "funcionando", "paused": "en pausa", "stopped": "detenida",
           "alarm": "en alarma"},
}
ALARM_NAMES = {
    "en": {"occlusion": "occlusion", "air_in_line": "air in line", "low_battery": "low battery",
           "reservoir_low": "reservoir low", "reservoir_empty": "reservoir empty",
           "malfunction": "malfunction", "other": "other"},
    "es": {"occlusion": "oclusión", "air_in_line": "aire en la vía", "low_battery": "batería baja",
           "reservoir_low": "depósito bajo", "reservoir_empty": "depósito vacío",
           "malfunction": "falla", "other": "otra"},
}


def pump_state(status: str, alarm_type: str | None, language: str) -> str:
    """"running", "alarm occlusion"; "funcionando", "en alarma (oclusión)"."""
    states = PUMP_STATES.get(language, PUMP_STATES["en"])
    words = states.get(status, status.replace("_", " "))
    if alarm_type:
        alarm = alarm_name(alarm_type, language)
        words = f"{words} ({alarm})" if language == "es" else f"{words} {alarm}"
    return words


def alarm_name(alarm_type: str, language: str) -> str:
    return ALARM_NAMES.get(language, ALARM_NAMES["en"]).get(
        alarm_type, alarm_type.replace("_", " "))


def refusal(error, language: str) -> str:
    """A domain error in the nurse's language; its English message when it has no reason."""
    texts = REFUSALS.get(error.reason)
    if texts is None:
        return error.message
    params = dict(error.params)
    for key in ("status", "to"):
        if key in params:
            params[key] = _status_word(params[key], language)
    return texts.get(language, texts["en"]).format(**params)


def _status_word(status: str, language: str) -> str:
    return STATUS_WORDS.get(language, {}).get(status, status.replace("_", " "))


def usage(verb: str | None, language: str) -> str:
    texts = USAGE.get(verb, USAGE[None])
    return texts.get(language, texts["en"])


def problem(key: str, language: str, detail: str = "") -> str:
    texts = PROBLEMS[key]
    return texts.get(language, texts["en"]).format(detail=detail)


VISIT_NOTICES = {
    "visit.on_the_way": {
        "en": "Your infusion nurse is on the way to {first_name}, arriving about {eta}.",
        "es": "La enfermera va en camino a casa de {first_name}; llega hacia las {eta}.",
    },
    "visit.changed": {
        "en": "The nurse's visit for {first_name} has changed: now {day} between {start} and "
              "{end}. Reply CALL to talk to us.",
        "es": "La visita de la enfermera para {first_name} cambió: ahora el {day} entre {start} "
              "y {end}. Responda LLAMAR para hablar con nosotros.",
    },
    "visit.running_late": {
        "en": "The infusion nurse for {first_name} is running late, now arriving about {eta}. "
              "Reply CALL to talk to us.",
        "es": "La enfermera de {first_name} viene con retraso; ahora llega hacia las {eta}. "
              "Responda LLAMAR para hablar con nosotros.",
    },
    "visit.cancelled": {
        "en": "The nurse's visit for {first_name} on {day} at {start} is cancelled. Reply CALL "
              "to talk to us.",
        "es": "Se canceló la visita de la enfermera para {first_name} del {day} a las {start}. "
              "Responda LLAMAR para hablar con nosotros.",
    },
}
TEMPLATES.update(VISIT_NOTICES)


# A bag hung with a problem (issue #18): the dispatcher's alert and the nurse's reply.
BAG_RECORD_TEXTS = {
    "alert.bag_warning": {
        "en": "ALERT {alert_ref}: {study_code} bag {sequence} was hung with a problem: "
              "{warning}. Reply ACK when handled.",
        "es": "ALERTA {alert_ref}: la bolsa {sequence} de {study_code} se colocó con un "
              "problema: {warning}. Responda ACK cuando se encargue.",
    },
    "nurse.bag_warnings": {
        "en": " WARNING: {warnings}. Dispatch has been alerted.",
        "es": " AVISO: {warnings}. Se avisó a despacho.",
    },
}
TEMPLATES.update(BAG_RECORD_TEXTS)

# One problem of a bag, by its code (bag_record.WARNING_CODES), with its numbers.
BAG_WARNINGS = {
    "expired": {"en": "expired {expired}", "es": "vencida el {expired}"},
    "room_time_exceeded": {
        "en": "{hours} h out of the fridge with its infusion (limit {limit} h)",
        "es": "{hours} h fuera de la nevera con su infusión (límite {limit} h)"},
    "storage_time_exceeded": {
        "en": "stored {days} days with its infusion (limit {limit})",
        "es": "almacenada {days} días con su infusión (límite {limit})"},
    "temperature_excursion": {
        "en": "temperature out of range ({celsius} °C)",
        "es": "temperatura fuera de rango ({celsius} °C)"},
    "volume_short": {
        "en": "{volume} mL is less than the {needed} mL it needs",
        "es": "{volume} mL es menos que los {needed} mL necesarios"},
}


def bag_warnings(warnings: list[dict], language: str) -> str:
    """A bag's warnings in the reader's language, "expired 2026-03-01; ..."."""
    texts = []
    for warning in warnings:
        template = BAG_WARNINGS.get(warning["code"])
        if template is None:
            texts.append(warning["message"])
            continue
        values = {k: f"{v:g}" if isinstance(v, float) else v
                  for k, v in warning.get("values", {}).items()}
        texts.append(template.get(language, template["en"]).format(**values))
    return "; ".join(texts)


UNIT_NOTICES = {
    "unit.visit_moved": {
        "en": "Visit {visit_code} ({study_code}, {city}) moved: now {day} {start}-{end}, your "
              "ETA {eta}.",
        "es": "Visita {visit_code} ({study_code}, {city}) cambiada: ahora {day} {start}-{end}, "
              "su llegada {eta}.",
    },
    "unit.visit_removed": {
        "en": "Visit {visit_code} ({study_code}, {city}) is no longer yours: {why}.",
        "es": "La visita {visit_code} ({study_code}, {city}) ya no es suya: {why}.",
    },
}
TEMPLATES.update(UNIT_NOTICES)
# Why a visit left a unit's day, in the nurse's language.
REMOVALS = {
    "cancelled": {"en": "cancelled", "es": "cancelada"},
    "moved_off": {"en": "moved to {day} {start}-{end}, when your unit cannot do it",
                  "es": "cambiada al {day} {start}-{end}, cuando su unidad no puede"},
}


def removal(why: str, language: str, **values) -> str:
    texts = REMOVALS[why]
    return texts.get(language, texts["en"]).format(**values)
