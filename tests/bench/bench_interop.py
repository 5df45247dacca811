"""Benchmark: the interop paths on PostgreSQL.

(a) the webhook queue drained to a local receiver: events/s through ``send_due`` (claim,
    sign, a new connection per delivery to the checked address, record), and a count
    proving zero duplicates; reference: the same signed POSTs in a bare urllib3 loop, on
    a new connection each (as ours) and on one kept-alive connection;
(b) ``$everything`` for a patient with a whole 28-day course of 24 h bags (28 bags, 54
    pump reports, their visits): the export's time; reference: reading the same rows with
    plain SELECTs and nothing else.

    .venv/bin/python tests/bench/bench_interop.py [--events 1000]

Prints its figures last as one JSON line.
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select
from urllib3 import HTTPConnectionPool

from opsbackend.clock import FixedClock, SystemClock
from opsbackend.db import Database
from opsbackend.domain.infusion import bags, course_lifecycle, courses, pump_reports
from opsbackend.domain.interop import fhir_export, webhook_sender, webhook_subscriptions
from opsbackend.domain.interop.webhooks import EVENT_TYPES, emit
from opsbackend.domain.registry import patients, sites
from opsbackend.domain.scope import Scope
from opsbackend.models import Bag, InboundMessage, OutboundMessage, PumpReport, Visit
from opsbackend.webhooks.targets import TargetPolicy
from tests.bench.support import fresh_database, last_line
from tests.fake_webhook_receiver import FakeReceiver


def webhook_drain(url: str, count: int) -> dict:
    receiver = FakeReceiver()
    database = Database(url, SystemClock())
    with database.transaction() as session:
        site = sites.create_site(session, dict(code="B1", name="Bench", region="West",
                                               timezone="America/Los_Angeles"))
        created = webhook_subscriptions.create_subscription(
            session, Scope.everything(), {"site_id": site.id, "url": receiver.url,
                                          "events": list(EVENT_TYPES)}, TargetPolicy())
        for n in range(count):
            emit(session, "bag.changed", site_id=site.id,
                 data={"course_id": n, "study_code": f"B-{n:04d}", "warnings": []})
    started = time.perf_counter()
    while webhook_sender.send_due(database, database.clock, batch_size=200).claimed:
        pass
    ours = count / (time.perf_counter() - started)
    ids = [r.message_id for r in receiver.received]
    duplicates = len(ids) - len(set(ids)) + abs(len(ids) - count)
    body = b'{"type":"bag.changed","data":{}}'
    now = datetime.now(UTC)
    host, port = "127.0.0.1", int(receiver.url.rsplit(":", 1)[1])
    started = time.perf_counter()
    for n in range(count):
        headers = webhook_sender.sign(created.secret, f"msg_{n}", now, body.decode())
        with HTTPConnectionPool(host, port, maxsize=1) as pool:
            pool.urlopen("POST", "/", body=body, headers=headers, retries=False)
    bare_new = count / (time.perf_counter() - started)
    started = time.perf_counter()
    with HTTPConnectionPool(host, port, maxsize=1) as pool:
        for n in range(count):
            headers = webhook_sender.sign(created.secret, f"msg_{n}", now, body.decode())
            pool.urlopen("POST", "/", body=body, headers=headers, retries=False)
    bare_keepalive = count / (time.perf_counter() - started)
    database.dispose()
    receiver.close()
    return {"ours": ours, "bare_new_connection": bare_new, "bare_keepalive": bare_keepalive,
            "duplicates": duplicates}


def full_course(url: str) -> tuple[int, FixedClock]:
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    clock = FixedClock(start)
    database = Database(url, clock)
    with database.transaction() as session:
        site = sites.create_site(session, dict(code="B2", name="Bench 2", region="West",
                                               timezone="America/Los_Angeles"))
        patient = patients.create_patient(session, dict(
            site_id=site.id, study_code="B-FULL", first_name="Ava", weight_kg=18.0,
            date_of_birth=datetime(2019, 1, 1).date(), language="en",
            home=dict(address_line1="1 Main St", city="Pasadena", postal_code="91101",
                      lat=34.1, lon=-118.1),
            contacts=[dict(name="Grace", relationship="mother", phone="+16265550100")]))
        course = courses.create_course(session, clock, dict(
            patient_id=patient.id, planned_start_at=start, bag_interval_hours=24,
            pump_model="CADD-Solis", pump_serial="CS-1"))
        course_lifecycle.start_course(session, clock, course.id)
    for _ in range(27):
        for hours in (12, 11):
            clock.advance(hours=hours)
            with database.transaction() as session:
                if hours == 12:
                    pump_reports.record_pump_report(session, clock, course.id,
                                                    {"status": "running", "battery_pct": 80})
                else:
                    pump_reports.record_pump_report(session, clock, course.id,
                                                    {"status": "running"})
                    bags.change_bag(session, clock, course.id, volume_ml=270,
                                    no_flush_confirmed=True)
    database.dispose()
    return patient.id, clock


def export_time(url: str, patient_id: int, clock, repeat: int = 7) -> dict:
    database = Database(url, clock)
    timings, reads, entries = [], [], 0
    for _ in range(repeat):
        with database.new_session() as session:
            started = time.perf_counter()
            bundle = fhir_export.everything(session, Scope.everything(), clock, patient_id,
                                            "http://bench/fhir")
            timings.append(time.perf_counter() - started)
            entries = len(bundle["entry"])
        with database.new_session() as session:
            started = time.perf_counter()
            for model, column in ((Bag, Bag.course_id), (PumpReport, PumpReport.course_id)):
                session.scalars(select(model).where(column.is_not(None))).all()
            session.scalars(select(Visit).where(Visit.patient_id == patient_id)).all()
            session.scalars(select(OutboundMessage)).all()
            session.scalars(select(InboundMessage)).all()
            reads.append(time.perf_counter() - started)
    database.dispose()
    return {"export_ms": round(statistics.median(timings) * 1000, 1),
            "plain_reads_ms": round(statistics.median(reads) * 1000, 1), "entries": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with fresh_database("opsbackend_bench_interop") as url:
        drain = webhook_drain(url, args.events)
        patient_id, clock = full_course(url)
        export = export_time(url, patient_id, clock)
    print(f"webhook drain {drain['ours']:.0f} events/s (signed, a new connection each); "
          f"bare signed POSTs {drain['bare_new_connection']:.0f}/s on new connections, "
          f"{drain['bare_keepalive']:.0f}/s kept alive; duplicates {drain['duplicates']}")
    print(f"$everything of a 28-day course: {export['entries']} resources in "
          f"{export['export_ms']} ms (median of 7); the same rows read plainly "
          f"{export['plain_reads_ms']} ms")
    last_line({"webhook_events_per_s": round(drain["ours"], 1),
               "bare_signed_posts_per_s_new_connection": round(drain["bare_new_connection"], 1),
               "bare_signed_posts_per_s_keepalive": round(drain["bare_keepalive"], 1),
               "webhook_duplicates": drain["duplicates"],
               "everything_ms": export["export_ms"], "everything_entries": export["entries"],
               "plain_reads_ms": export["plain_reads_ms"]})
    return 1 if drain["duplicates"] else 0


if __name__ == "__main__":
    sys.exit(main())
