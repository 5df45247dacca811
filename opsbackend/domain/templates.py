"""SMS texts in English and Spanish.

Bodies carry no diagnosis or drug names: study codes, first names and local times only.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

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
    "alert.acknowledged": {
        "en": "Thanks. Alert {alert_ref} acknowledged; escalation stopped.",
        "es": "Gracias. Alerta {alert_ref} confirmada; se detuvo la escalada.",
    },
}


def render(template: str, language: str, **values) -> str:
    texts = TEMPLATES[template]
    return texts.get(language, texts["en"]).format(**values)


def local_time(at: datetime, timezone: str) -> str:
    """How a person reads a time: "Mon 14:05 PST" in their own zone."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%a %H:%M %Z")


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


def local_clock(at: datetime, timezone: str) -> str:
    """Just the time of day, "14:05"."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


def local_day(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%a %b %d")
