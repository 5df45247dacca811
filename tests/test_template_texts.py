"""Every text in every language, rendered with real values: no loose ends.

Values come from the same helpers the messages use (times, pump states, refusals), so a
helper that leaves English in a Spanish text fails here as much as a template does.
A new template with a new placeholder needs a sample below: the test says which.
"""

import re
import string
from datetime import UTC, datetime

import pytest

from opsbackend.domain.messaging import templates
from opsbackend.phone.voice import SAY

AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # the fall-back night: 01:30 PST
ZONE = "America/Los_Angeles"
LANGUAGES = ("en", "es")
# English words that must not appear in a Spanish text (carrier keywords such as STOP,
# START and ACK are the same in every language and are not on the list).
ENGLISH_WORDS = {
    "running", "paused", "stopped", "alarm", "occlusion", "air", "battery", "reservoir",
    "malfunction", "bag", "pump", "visit", "nurse", "due", "changed", "late", "hours",
    "reply", "the", "and", "recorded", "arrived", "left", "thanks", "thank", "call",
    "mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "apr", "aug", "dec",
}
# A time of day must name its zone ("01:30 PST"), or the fall-back night is ambiguous.
BARE_TIME = re.compile(r"\b\d{1,2}:\d{2}\b(?! [A-Z]{3,5}\b)")


def samples(language: str) -> dict:
    moment = templates.local_time(AT, ZONE, language)
    clock = templates.local_clock(AT, ZONE, language)
    return {
        "alert_ref": "A12", "study_code": "W-001", "sequence": 3, "old_sequence": 3,
        "new_sequence": 4, "visit_code": "V12", "visit_id": 12, "visit": 12,
        "first_name": "Ava", "phone": "+12135550100", "count": 2, "codes": "V12, V13",
        "minutes": 15, "hours": 23,
        "due": moment, "since": moment, "time": moment,
        "start": clock, "end": clock, "eta": clock,
        "day": templates.local_day(AT, ZONE, language),
        "status": templates.pump_state("running", None, language),
        "alarm": templates.pump_state("alarm", "occlusion", language),
        "staff_phone": "+12135550100",
        "late": templates.render("nurse.late_note", language, minutes=15),
        "alarm_note": templates.render("nurse.alarm_note", language),
        "problem": templates.problem("bad_volume", language),
        "reason": templates.problem("bad_volume", language),
        "usage": templates.usage("changed", language),
        "detail": "XYZ", "to": "completed", "city": "Pasadena",
        "why": templates.removal("cancelled", language),
        # A bag hung with problems (bag_record): each warning's numbers, and the list.
        "expired": "2026-10-31", "limit": 48, "days": 8.5, "celsius": 11.5, "volume": 200,
        "needed": 270,
        "warning": templates.bag_warnings(SAMPLE_WARNINGS, language),
        "warnings": templates.bag_warnings(SAMPLE_WARNINGS, language),
    }


SAMPLE_WARNINGS = [
    {"code": "expired", "message": "expired", "values": {"expired": "2026-10-31"}},
    {"code": "volume_short", "message": "short", "values": {"volume": 200.0, "needed": 270.0}},
]


def all_texts():
    """(name, language, text) for every SMS template, usage, problem, refusal and voice line."""
    for group_name, group in (("sms", templates.TEMPLATES), ("problem", templates.PROBLEMS),
                              ("refusal", templates.REFUSALS),
                              ("bag_warning", templates.BAG_WARNINGS)):
        for key, texts in group.items():
            for language in LANGUAGES:
                yield f"{group_name}:{key}", language, texts[language]
    for verb, texts in templates.USAGE.items():
        for language in LANGUAGES:
            yield f"usage:{verb}", language, texts[language]
    for language in LANGUAGES:
        for key, text in SAY[language].items():
            yield f"voice:{key}", language, text


def render(text: str, language: str) -> str:
    values = samples(language)
    wanted = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    missing = wanted - set(values)
    assert not missing, f"add a sample value for {sorted(missing)} in {__file__}"
    return text.format(**values)


@pytest.mark.parametrize("name,language,text", list(all_texts()),
                         ids=lambda value: value if isinstance(value, str) and len(value) < 40
                         else "")
def test_every_text_renders_without_loose_ends(name, language, text):
    rendered = render(text, language)

    assert "{" not in rendered and "}" not in rendered, rendered
    assert " - " not in rendered and "None" not in rendered, rendered
    assert not BARE_TIME.search(rendered), f"a time without its zone: {rendered}"
    if language == "es":
        words = set(re.findall(r"[a-záéíóúñü]+", rendered.lower()))
        assert not words & ENGLISH_WORDS, f"English in Spanish: {words & ENGLISH_WORDS}"


def test_every_sms_template_exists_in_every_language():
    for key, texts in templates.TEMPLATES.items():
        assert set(LANGUAGES) <= set(texts), key
