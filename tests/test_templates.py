"""Times in messages read in the reader's own zone and language."""

from datetime import UTC, datetime

import babel.localedata

from opsbackend.app import create_app
from opsbackend.domain.messaging.templates import (
    LOCALES,
    local_clock,
    local_day,
    local_time,
    pump_state,
)

AT = datetime(2026, 11, 25, 20, 26, tzinfo=UTC)  # a Wednesday


def test_a_time_reads_in_the_zone_and_language_of_the_reader_with_its_date():
    assert local_time(AT, "America/Los_Angeles") == "Wed Nov 25 12:26 PST"
    assert local_time(AT, "America/Los_Angeles", "es") == "mié 25 de nov 12:26 PST"
    assert local_time(AT, "America/New_York", "es") == "mié 25 de nov 15:26 EST"


def test_a_time_of_day_names_its_zone_so_the_fall_back_night_is_not_ambiguous():
    first = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)  # 01:30 PDT
    second = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)  # 01:30 PST, an hour later

    assert local_clock(first, "America/Los_Angeles") == "01:30 PDT"
    assert local_clock(second, "America/Los_Angeles") == "01:30 PST"


def test_a_day_reads_in_the_language_of_the_reader():
    assert local_day(AT, "America/New_York") == "Wed Nov 25"
    assert local_day(AT, "America/New_York", "es") == "mié 25 de nov"


def test_an_unknown_language_reads_in_english():
    assert local_time(AT, "America/Los_Angeles", "fr") == "Wed Nov 25 12:26 PST"


def test_pump_states_and_alarms_read_in_the_nurses_language():
    assert pump_state("running", None, "es") == "funcionando"
    assert pump_state("alarm", "occlusion", "es") == "en alarma (oclusión)"
    assert pump_state("alarm", "air_in_line", "en") == "alarm air in line"


def test_the_app_loads_every_message_locale_when_it_starts(settings, clock, monkeypatch):
    # Otherwise a new worker's first reply in each language waits ~0.1 s for the CLDR data.
    monkeypatch.setattr(babel.localedata, "_cache", {})
    app = create_app(settings, clock)
    app.extensions["database"].dispose()
    assert set(LOCALES.values()) <= set(babel.localedata._cache)
