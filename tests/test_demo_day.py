"""The demo holds what the README's walk through a dispatcher's day needs."""

from jobs.scheduler import JobContext
from opsbackend.cli import main
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.models import CallbackRequest, EvvException, OutboundMessage, Visit
from opsbackend.sms.console_provider import ConsoleSmsProvider
from tests.factories import count_rows
from tests.test_alerts_and_jobs import alerts, run


def seed(app):
    app.test_cli_runner().invoke(main, ["seed-demo"], catch_exceptions=False)


def test_the_demo_day_raises_its_alerts_on_the_first_tick(app, database, clock):
    seed(app)

    run(database, clock, JobContext(TimelineRules(), AlertRules(), ConsoleSmsProvider()),
        "late_units", "failed_deliveries", "callback_requests")

    [late] = alerts(database, "late_unit")
    [failed] = alerts(database, "delivery_failed")
    assert "WEST-2" in late.summary and late.summary.startswith("W-002")
    assert failed.summary.startswith("W-003") and "30003" in failed.summary
    assert count_rows(database, CallbackRequest, CallbackRequest.status == "open") == 1
    assert count_rows(database, EvvException, EvvException.status == "open") == 2


def test_the_demo_day_is_seeded_once(app, database):
    seed(app)
    counts = [count_rows(database, model) for model in (Visit, OutboundMessage,
                                                        CallbackRequest, EvvException)]
    seed(app)

    assert [count_rows(database, model) for model in (Visit, OutboundMessage,
                                                      CallbackRequest, EvvException)] == counts
