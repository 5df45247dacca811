"""Benchmark: the phone channel on PostgreSQL.

(a) signed SMS check-ins (PUMP V<n> RUNNING, each recorded as a pump report and an EVV
    check-in) posted to /twilio/sms under gunicorn, flat out and paced at 100 req/s,
    beside the bare one-INSERT Flask endpoint (the reference) and the same statements as
    ours in SQL core (``bare_app``'s ``/bare/check-in``), the three taking turns for a
    few rounds (medians reported: this machine's speed drifts within minutes); paced,
    ours and core take turns likewise, and each one's p99 is of all its rounds together;
(b) the outbox drained to the fake Twilio through the real SDK: messages/s and a
    count proving nothing doubled and nothing left unsent; reference: the same SDK
    calls in a bare loop.

    .venv/bin/python tests/bench/bench_phone.py [--requests 2000] [--rounds 3] [--messages 2000]

Prints its figures last as one JSON line.
"""

import argparse
import itertools
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert, select, text
from twilio.request_validator import RequestValidator

from opsbackend.clock import SystemClock
from opsbackend.db import Database
from opsbackend.domain.infusion import course_lifecycle, courses
from opsbackend.domain.messaging import outbox
from opsbackend.domain.registry import nurses, patients, sites, units
from opsbackend.models import OutboundMessage, Visit
from opsbackend.sms.twilio_provider import TwilioSmsProvider
from tests.bench.support import (
    OURS_WORKERS,
    REFERENCE_WORKERS,
    alternate,
    compare,
    drive,
    free_port,
    fresh_database,
    gunicorn_app,
    last_line,
    pooled,
    print_table,
    server,
)
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

TOKEN = "bench-webhook-token"
NURSES = 40
# Check-ins sent before the paced run and not measured: each worker's first requests
# compile their SQL, and a new database's tables are re-analysed as they first grow.
WARM_UP = 1000


def seed(url: str) -> list[tuple[str, int]]:
    """Nurses on one unit, each with an active course whose bag-change visit they have."""
    database = Database(url, SystemClock())
    crews = []
    with database.transaction(actor="bench") as session:
        site = sites.create_site(session, dict(code="P", name="Phone", region="West",
                                               timezone="America/Los_Angeles"))
        unit = units.create_unit(session, dict(call_sign="P-1", site_id=site.id, base_lat=34.0,
                                               base_lon=-118.0, skills=["pediatric"]))
        for n in range(NURSES):
            phone = f"+1213555{n:04d}"
            nurse = nurses.create_nurse(session, dict(name=f"N{n}", phone=phone,
                                                      unit_id=unit.id))
            patient = patients.create_patient(session, dict(
                site_id=site.id, study_code=f"PH-{n}", age_months=60, weight_kg=20))
            course = courses.create_course(session, database.clock, dict(
                patient_id=patient.id, planned_start_at=datetime.now(UTC),
                bag_interval_hours=24))
            course_lifecycle.start_course(session, database.clock, course.id)
            visit = session.scalars(select(Visit).where(Visit.course_id == course.id,
                                                        Visit.kind == "bag_change")).first()
            visit.unit_id, visit.status = unit.id, "assigned"
            crews.append((nurse.phone, visit.id))
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bare_event (id serial PRIMARY KEY, body text, "
                                "created_at timestamptz DEFAULT now())"))
    database.dispose()
    return crews


def signed_sms(port: int, n: int, phone: str, visit_id: int, path: str = "/twilio/sms"):
    params = {"MessageSid": f"SM{n:032d}", "From": phone, "To": "+13105550199",
              "Body": f"PUMP V{visit_id} RUNNING", "AccountSid": ACCOUNT_SID}
    url = f"http://127.0.0.1:{port}{path}"
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature}
    return ("POST", path, urlencode(params).encode(), headers, 200)


def check_ins(url, crews, count, concurrency, rounds, workers):
    """Ours and the same statements in SQL core paced at an even 100 req/s, taking turns
    for ``rounds`` rounds, first, after a warm-up (the steady load the p99 target is
    about: not fresh workers' first requests, not the wake of the flat-out rounds); each
    row's p99 is of all its rounds' check-ins together, as one run ``rounds`` times as
    long: a single 20 s stretch's p99 is that of the machine's worst second in it (one
    stall of another tenant's), and it moved 10 ms to 2 s for core alone within minutes.
    Then ours, the same statements in SQL core and the bare insert flat out, taking
    turns for ``rounds`` rounds."""
    port, bare_port = free_port(), free_port()
    env = {"DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": str(workers),
           "LOG_LEVEL": "WARNING", "TWILIO_AUTH_TOKEN": TOKEN}
    numbers = itertools.count()

    def messages(to_port, path="/twilio/sms", how_many=count):
        return [signed_sms(to_port, next(numbers), *crews[n % len(crews)], path=path)
                for n in range(how_many)]

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with (server([str(Path(sys.executable).parent / "opsbackend"), "serve"], env, port),
          server(gunicorn_app("tests.bench.bare_app:app", bare_port, REFERENCE_WORKERS),
                 {"DATABASE_URL": url}, bare_port)):
        drive(port, messages(port, how_many=WARM_UP), concurrency)
        paced_rounds = alternate(rounds, {
            "ours": lambda: drive(port, messages(port), concurrency, rate=100),
            # The limit beside it: the same statements in SQL core, paced alike.
            "core": lambda: drive(bare_port, messages(bare_port, "/bare/check-in"),
                                  concurrency, rate=100),
        })
        paced, paced_core = pooled(paced_rounds["ours"]), pooled(paced_rounds["core"])
        results = alternate(rounds, {
            "check_in": lambda: drive(port, messages(port), concurrency),
            "same_work_core": lambda: drive(bare_port, messages(bare_port, "/bare/check-in"),
                                            concurrency),
            "bare": lambda: drive(bare_port, [("POST", "/bare", b"Body=PUMP+RUNNING", form, 204)]
                                  * count, concurrency),
        })
    return results, paced, paced_core


def outbox_drain(url: str, count: int) -> tuple[float, float, int, int]:
    fake = FakeTwilio()
    database = Database(url, SystemClock())
    provider = TwilioSmsProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                 from_number="+13105550199", api_base_url=fake.url)
    now = datetime.now(UTC) - timedelta(seconds=1)
    rows = [{"to_phone": f"+1213555{n % 9000:04d}", "body": f"bench message {n}",
             "template": "bench", "purpose": "safety", "status": "queued",
             "created_at": now, "updated_at": now, "attempts": 0} for n in range(count)]
    with database.engine.begin() as connection:
        connection.execute(insert(OutboundMessage.__table__), rows)
    started = time.perf_counter()
    while True:
        summary = outbox.send_due(database, database.clock, provider, batch_size=200)
        if summary.claimed == 0:
            break
    drain_rate = count / (time.perf_counter() - started)
    sent = len(fake.messages)
    unique = len({m["body"] for m in fake.messages})
    duplicates, unsent = sent - unique, count - unique
    started = time.perf_counter()
    for n in range(count):
        provider.send(f"+1213555{n % 9000:04d}", f"bare {n}", None)
    bare_rate = count / (time.perf_counter() - started)
    database.dispose()
    fake.close()
    return drain_rate, bare_rate, duplicates, unsent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=OURS_WORKERS,
                        help="opsbackend serve's workers (default: one per core)")
    args = parser.parse_args()
    with fresh_database("opsbackend_bench_phone") as url:
        crews = seed(url)
        rounds, paced, paced_core = check_ins(url, crews, args.requests, args.concurrency,
                                              args.rounds, args.workers)
        drain_rate, bare_sdk_rate, duplicates, unsent = outbox_drain(url, args.messages)
    compared = compare(rounds, "check_in")
    flat, same_work, bare = compared.ours, compared.same_work, compared.bare
    print(f"median of {args.rounds} alternating rounds (at 100 req/s: the {args.rounds} rounds "
          "together):")
    print_table({"SMS check-in (ours)": flat, "same statements, SQL core": same_work,
                 "bare one-INSERT (reference)": bare, "SMS check-in at 100 req/s": paced,
                 "SQL core at 100 req/s": paced_core})
    print(f"against the same statements in SQL core: {compared.same_work_ratio:.2f} (issue 12's "
          f"target >= 0.45: {'met' if compared.same_work_ratio >= 0.45 else 'MISSED'}); "
          f"p99 at 100 req/s {paced['p99_ms']} ms (target <= 50 ms: "
          f"{'met' if paced['p99_ms'] <= 50 else 'MISSED'}; SQL core paced alike "
          f"{paced_core['p99_ms']} ms); each round's p99: ours {paced['round_p99_ms']}, "
          f"core {paced_core['round_p99_ms']}")
    # The first target, 0.4 of one bare INSERT, is out of reach for 16 statements however
    # they are written (README, "Performance"): shown, not judged.
    print(f"against the bare one-INSERT: {compared.ratio:.2f}; rounds {compared.ratios}")
    print(f"outbox drain {drain_rate:.0f} SMS/s through the SDK (target >= 200/s: "
          f"{'met' if drain_rate >= 200 else 'MISSED'}); bare SDK loop {bare_sdk_rate:.0f}/s; "
          f"duplicates {duplicates}, not sent in the drain {unsent}")
    last_line({"checkin_rps": flat["rps"], "bare_rps": bare["rps"],
               "checkin_ratio": round(compared.ratio, 3),
               "checkin_p99_ms_at_100_rps": paced["p99_ms"],
               "outbox_sms_per_s": round(drain_rate, 1),
               "bare_sdk_sms_per_s": round(bare_sdk_rate, 1),
               "outbox_duplicates": duplicates, "outbox_unsent": unsent,
               "same_work_core_rps": same_work["rps"],
               "checkin_ratio_to_same_work_core": round(compared.same_work_ratio, 3),
               "same_work_core_p99_ms_at_100_rps": paced_core["p99_ms"],
               "checkin_p99_ms_at_100_rps_rounds": paced["round_p99_ms"],
               "same_work_core_p99_ms_at_100_rps_rounds": paced_core["round_p99_ms"]})
    failures = (flat["failures"] + paced["failures"] + same_work["failures"] + bare["failures"]
                + paced_core["failures"])
    if failures:
        print("first failure:", flat["first_failure"] or paced["first_failure"]
              or same_work["first_failure"] or bare["first_failure"])
    return 1 if failures or duplicates or unsent else 0


if __name__ == "__main__":
    sys.exit(main())
