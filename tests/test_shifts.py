"""When a unit works: the stretch that covers a moment, or the next one to open."""

from datetime import UTC, datetime, timedelta

from opsbackend.domain.registry.shifts import shift_at_or_after

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MORNING = (T - timedelta(hours=5), T - timedelta(hours=1))
EVENING = (T + timedelta(hours=3), T + timedelta(hours=7))
NIGHT = (T + timedelta(hours=10), T + timedelta(hours=18))  # past midnight


def test_the_stretch_covering_the_moment_answers():
    assert shift_at_or_after([EVENING, MORNING], MORNING[0] + timedelta(hours=1)) == MORNING


def test_between_shifts_the_next_one_to_open_answers():
    assert shift_at_or_after([NIGHT, EVENING, MORNING], T) == EVENING
    assert shift_at_or_after([NIGHT, EVENING, MORNING], EVENING[1]) == NIGHT


def test_after_the_last_shift_nothing_is_left():
    assert shift_at_or_after([MORNING, EVENING], EVENING[1] + timedelta(minutes=1)) is None
    assert shift_at_or_after([], T) is None
