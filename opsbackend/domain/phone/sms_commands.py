"""The nurses' and families' SMS grammar: short, forgiving, case-insensitive, English or Spanish.

    ARRIVED [V123]            LLEGUE [V123]
    CHANGED [V123] [250] NOFLUSH  CAMBIO [V123] [250] SINLAVAR  (new bag mL; NOFLUSH: the
                                                         line was not flushed, required)
    CHANGED V12 240 LOT A1234 CAMBIO V12 240 LOTE A1234  (the new bag's lot, optional)
    ARRIVED V12 OVERRIDE      LLEGUE V12 FORZAR          (another unit's visit; reported)
    PUMP [V123] RUNNING|PAUSED|STOPPED|ALARM <type> [80%]
    DONE [V123]               LISTO [V123]
    ACK [A12]  / OK           (an alert is being handled)
    HELP / AYUDA, YES / SI, CALL / LLAMAR, STOP, START

Parsing is pure: it knows nothing of who sent the text.
"""

import re
import unicodedata
from dataclasses import dataclass, replace

VERBS = {
    "ARRIVED": "arrived", "ARRIVE": "arrived", "HERE": "arrived", "LLEGUE": "arrived",
    "LLEGADA": "arrived",
    "CHANGED": "changed", "CHANGE": "changed", "CAMBIO": "changed", "CAMBIADA": "changed",
    "CAMBIE": "changed",
    "PUMP": "pump", "BOMBA": "pump",
    "DONE": "done", "LEFT": "done", "DEPARTED": "done", "LISTO": "done", "SALI": "done",
    "HELP": "help", "AYUDA": "help", "INFO": "help",
    "ACK": "ack", "OK": "ack", "RECIBIDO": "ack", "ENTERADO": "ack",
    "YES": "yes", "Y": "yes", "SI": "yes", "CONFIRM": "yes", "CONFIRMO": "yes",
    "CALL": "call", "LLAMAR": "call", "LLAMEN": "call",
    # Twilio's and the carriers' opt-out and opt-in words.
    "STOP": "stop", "STOPALL": "stop", "UNSUBSCRIBE": "stop", "CANCEL": "stop", "END": "stop",
    "QUIT": "stop", "REVOKE": "stop", "OPTOUT": "stop", "PARAR": "stop", "BAJA": "stop",
    "START": "start", "UNSTOP": "start", "SUBSCRIBE": "start", "OPTIN": "start",
}
PUMP_STATES = {
    "RUNNING": "running", "RUN": "running", "OK": "running", "FUNCIONANDO": "running",
    "PAUSED": "paused", "PAUSE": "paused", "PAUSADA": "paused",
    "STOPPED": "stopped", "STOP": "stopped", "DETENIDA": "stopped",
    "ALARM": "alarm", "ALARMA": "alarm",
}
ALARM_TYPES = {
    "OCCLUSION": "occlusion", "OCLUSION": "occlusion", "OCCLUDED": "occlusion",
    "AIR": "air_in_line", "AIR_IN_LINE": "air_in_line", "AIRE": "air_in_line",
    "BATTERY": "low_battery", "LOW_BATTERY": "low_battery", "BATERIA": "low_battery",
    "LOW": "reservoir_low", "RESERVOIR_LOW": "reservoir_low", "BAJO": "reservoir_low",
    "EMPTY": "reservoir_empty", "RESERVOIR_EMPTY": "reservoir_empty", "VACIO": "reservoir_empty",
    "MALFUNCTION": "malfunction", "FALLA": "malfunction", "ERROR": "malfunction",
    "OTHER": "other", "OTRO": "other",
}
VISIT_CODE = re.compile(r"^[V#](\d{1,9})$")
ALERT_CODE = re.compile(r"^A(\d{1,9})$")
VOLUME = re.compile(r"^(\d{1,4}(?:[.,]\d{1,2})?)(ML)?$")
PERCENT = re.compile(r"^(\d{1,3})%$")
LOT_WORDS = ("LOT", "LOTE")
OVERRIDE = ("OVERRIDE", "FORZAR")
LOT = re.compile(r"^[A-Z0-9][A-Z0-9./-]{0,39}$")
MAX_LENGTH = 1600


@dataclass(frozen=True)
class Command:
    verb: str
    visit_id: int | None = None
    alert_id: int | None = None
    volume_ml: float | None = None
    pump_status: str | None = None
    alarm_type: str | None = None
    battery_pct: int | None = None
    no_flush: bool = False
    lot: str | None = None
    # OVERRIDE / FORZAR: check in at another unit's assigned visit (an EVV exception).
    override: bool = False


class NotUnderstood(ValueError):
    """``problem`` names what was wrong; ``verb`` the command it was read as, if any."""

    def __init__(self, problem: str, verb: str | None = None, detail: str = ""):
        super().__init__(problem)
        self.problem = problem
        self.verb = verb
        self.detail = detail


def parse(body: str) -> Command:
    tokens = _tokens(body)
    if not tokens:
        raise NotUnderstood("empty")
    verb = VERBS.get(tokens[0])
    if verb is None:
        raise NotUnderstood("unknown_command", detail=tokens[0][:20])
    rest = tokens[1:]
    visit_id = _take(rest, VISIT_CODE)
    override = verb in ("arrived", "changed", "pump", "done") and _take_word(rest, OVERRIDE)
    if verb in ("arrived", "done"):
        _nothing_left(rest, verb)
        return Command(verb, visit_id=visit_id, override=override)
    if verb == "changed":
        return replace(_changed(rest, visit_id), override=override)
    if verb == "pump":
        return replace(_pump(rest, visit_id), override=override)
    if verb == "ack":
        alert_id = _take(rest, ALERT_CODE)
        _nothing_left(rest, verb)
        return Command(verb, alert_id=alert_id)
    return Command(verb)  # help, yes, call, stop, start: extra words are ignored


def _changed(rest: list[str], visit_id) -> Command:
    no_flush = False
    for word in ("NOFLUSH", "NF", "SINLAVAR"):
        if word in rest:
            rest.remove(word)
            no_flush = True
    lot = _take_lot(rest)
    volume = None
    if rest:
        match = VOLUME.match(rest.pop(0))
        if match is None:
            raise NotUnderstood("bad_volume", "changed")
        volume = float(match.group(1).replace(",", "."))
        if not 0 < volume <= 1000:
            raise NotUnderstood("bad_volume", "changed")
    _nothing_left(rest, "changed")
    return Command("changed", visit_id=visit_id, volume_ml=volume, no_flush=no_flush, lot=lot)


def _take_lot(rest: list[str]) -> str | None:
    """``LOT A1234`` (``LOTE`` in Spanish) anywhere after the verb."""
    for index, word in enumerate(rest):
        if word in LOT_WORDS:
            if index + 1 >= len(rest) or not LOT.match(rest[index + 1]):
                raise NotUnderstood("bad_lot", "changed")
            lot = rest[index + 1]
            del rest[index:index + 2]
            return lot
    return None


def _pump(rest: list[str], visit_id) -> Command:
    if not rest:
        raise NotUnderstood("missing_pump_status", "pump")
    status = PUMP_STATES.get(rest.pop(0))
    if status is None:
        raise NotUnderstood("bad_pump_status", "pump")
    alarm_type = None
    if status == "alarm":
        if not rest or rest[0] not in ALARM_TYPES:
            raise NotUnderstood("missing_alarm_type", "pump")
        alarm_type = ALARM_TYPES[rest.pop(0)]
    battery = None
    if rest:
        match = PERCENT.match(rest.pop(0))
        if match is None or int(match.group(1)) > 100:
            raise NotUnderstood("bad_battery", "pump")
        battery = int(match.group(1))
    _nothing_left(rest, "pump")
    return Command("pump", visit_id=visit_id, pump_status=status, alarm_type=alarm_type,
                   battery_pct=battery)


def _tokens(body: str) -> list[str]:
    text = (body or "")[:MAX_LENGTH]
    # Accents and case do not matter: "llegué" is LLEGUE.
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    text = re.sub(r"(\d)\s*ML\b", r"\1ML", text)
    text = re.sub(r"(\d)\s*%", r"\1%", text)
    text = re.sub(r"\bAIR IN LINE\b", "AIR_IN_LINE", text)
    text = re.sub(r"\bLOW BATTERY\b", "LOW_BATTERY", text)
    text = re.sub(r"\bNO FLUSH\b", "NOFLUSH", text)
    text = re.sub(r"\bSIN LAVAR\b", "SINLAVAR", text)
    # Punctuation separates words, except a decimal point or comma inside a number.
    return [t for t in re.split(r"\s+|(?<!\d)[,;:.!?]+|[,;:.!?]+(?!\d)", text) if t]


def _take_word(tokens: list[str], words: tuple[str, ...]) -> bool:
    found = False
    for word in words:
        while word in tokens:
            tokens.remove(word)
            found = True
    return found


def _take(tokens: list[str], pattern: re.Pattern) -> int | None:
    for index, token in enumerate(tokens):
        match = pattern.match(token)
        if match:
            del tokens[index]
            return int(match.group(1))
    return None


def _nothing_left(rest: list[str], verb: str) -> None:
    if rest:
        raise NotUnderstood("extra_words", verb, detail=" ".join(rest)[:40])
