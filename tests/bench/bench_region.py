"""Benchmark: a busy day of a large region, the whole system on PostgreSQL.

The web (``opsbackend serve``, a worker per core) and a scheduler (``opsbackend scheduler``,
SMS to the fake Twilio through the real SDK) run as in production, over 5,000 running
courses, 300 units with two nurses each, and their visits for the next 72 h. For a
bounded stretch (``--seconds``, default 120):

- nurses check in by signed SMS (``PUMP V<n> RUNNING``) at 20 req/s;
- families reply ``YES`` to their visit reminders (2 req/s);
- a dispatcher assigns unassigned visits to units (1 req/s);
- ``--late`` bags (default 200) go overdue over the stretch: the scheduler raises their
  alerts and the outbox sends them, beside the busy start (every visit due within 12 h
  with no unit alerts the dispatch desk at the first tick).

Figures: check-ins and their p99 (paced, measured from when each was due), alerts and
the p99 from a bag's grace expiring to its first SMS at the provider, the outbox lag
(p99 from a message's creation to the provider taking it, every message), and what was
lost (a check-in answered 200 with nothing stored, a late bag without its alert, a
queued SMS that never reached the provider) or doubled (an SMS the provider got twice,
an inbound message stored twice). Reference: the same check-in load alone, before the
day starts (``reference_checkin_p99_ms``).

    .venv/bin/python tests/bench/bench_region.py [--seconds 120] [--courses 5000]

Prints its figures last as one JSON line.
"""

import argparse
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert, select, text
from twilio.request_validator import RequestValidator

from opsbackend.clock import SystemClock
from opsbackend.db import Database
from opsbackend.domain.infusion import visit_schedule
from opsbackend.domain.registry import tokens
from opsbackend.models import (
    Bag,
    Contact,
    Course,
    Home,
    Nurse,
    Patient,
    Site,
    Unit,
    UnitShift,
    Visit,
)
from tests.bench.support import (
    BIN,
    OURS_WORKERS,
    drive,
    fresh_database,
    last_line,
    server,
    synthetic_course,
)
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

WEB_PORT = 8531  # this helper's range
WEBHOOK_TOKEN = "bench-region-webhook-token"
SITES = 5
UNITS = 300
INTERVALS = (24, 48, 72, 96, 168)
GRACE = timedelta(minutes=15)


def seed(database, courses: int, late: int, seconds: int, rng) -> dict:
    """The region, in bulk; returns what the load needs."""
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    with database.transaction(actor="bench") as session:
        sites = [Site(code=f"R{n}", name=f"Region site {n}", region="West",
                      timezone="America/Los_Angeles", dispatch_phone=f"+1310555{n:04d}",
                      on_call_phone=f"+1310556{n:04d}") for n in range(SITES)]
        session.add_all(sites)
        session.flush()
        site_ids = [site.id for site in sites]
        _record, dispatcher = tokens.issue_token(session, name="bench dispatcher",
                                                 role="dispatcher")
    units, shifts, nurses = [], [], []
    for n in range(UNITS):
        units.append(stamp | {"id": n + 1, "call_sign": f"R-{n}", "site_id": site_ids[n % SITES],
                              "base_lat": 34.0 + rng.uniform(-0.3, 0.3),
                              "base_lon": -118.2 + rng.uniform(-0.3, 0.3),
                              "skills": ["pediatric", "infant"], "status": "available"})
        shifts += [stamp | {"unit_id": n + 1, "weekday": day, "starts_at": day_time(0),
                            "ends_at": day_time(0)} for day in range(7)]
        nurses += [stamp | {"name": f"Nurse {n}-{k}", "phone": f"+1213{n:03d}{k:04d}",
                            "skills": ["pediatric"], "language": "en", "active": True,
                            "site_id": site_ids[n % SITES], "unit_id": n + 1}
                   for k in range(2)]
    patients, homes, contacts, course_rows, bags = [], [], [], [], []
    late_ids = set(rng.sample(range(1, courses + 1), late))
    for n in range(1, courses + 1):
        interval = rng.choice(INTERVALS)
        if n in late_ids:  # grace expires during the stretch
            due = now - GRACE + timedelta(seconds=rng.uniform(20, seconds - 20))
            interval = 24
        else:  # due some time after the stretch
            due = now + timedelta(minutes=20) + timedelta(seconds=rng.uniform(0, interval * 3600))
        started = due - timedelta(hours=interval)
        patient, course = synthetic_course(n, site_ids[n % SITES], f"RG-{n}", started,
                                           interval, stamp)
        patients.append(patient | {"first_name": "Ava"})
        homes.append(stamp | {"patient_id": n, "address_line1": f"{n} Main St",
                              "city": "Los Angeles", "state": "CA", "postal_code": "90012",
                              "country": "US", "lat": 34.0 + rng.uniform(-0.3, 0.3),
                              "lon": -118.2 + rng.uniform(-0.3, 0.3),
                              "geocode_status": "manual"})
        contacts.append(stamp | {"patient_id": n, "name": "Grace", "relationship": "mother",
                                 "phone": f"+1626{n:07d}", "language": "en",
                                 "is_primary": True, "opted_out": False,
                                 "quiet_hours_start": day_time(0, 0),
                                 "quiet_hours_end": day_time(0, 0)})
        course_rows.append(course)
        bags.append(stamp | {"course_id": n, "sequence": 1, "hung_at": started, "due_at": due})
    with database.engine.begin() as connection:
        for table, rows in ((Unit, units), (UnitShift, shifts), (Nurse, nurses),
                            (Patient, patients), (Home, homes), (Contact, contacts),
                            (Course, course_rows),
                            (Bag, bags)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table.__table__), rows[start:start + 5000])
        connection.execute(text("SELECT setval('unit_id_seq', (SELECT max(id) FROM unit))"))
        connection.execute(text("SELECT setval('patient_id_seq', (SELECT max(id) FROM patient))"))
        connection.execute(text("SELECT setval('course_id_seq', (SELECT max(id) FROM course))"))
        connection.execute(text("ANALYZE"))
    with database.transaction(actor="bench") as session:
        visit_schedule.generate_visits(session, database.clock)
    return assign_crews(database, dispatcher, late_ids, rng)


def assign_crews(database, dispatcher: str, late_ids: set, rng) -> dict:
    """Each nurse has a visit of their unit to check in on; the late bags' visits stay
    with nobody on site (so they are missed), the rest are the dispatcher's to assign."""
    with database.transaction(actor="bench") as session:
        visits = session.scalars(select(Visit).where(Visit.status == "unassigned")
                                 .order_by(Visit.window_start)).all()
        nurses = session.scalars(select(Nurse).order_by(Nurse.id)).all()
        free = [v for v in visits if v.course_id not in late_ids]
        crews = []
        for nurse, visit in zip(nurses, free, strict=False):
            visit.unit_id, visit.status = nurse.unit_id, "assigned"
            crews.append((nurse.phone, visit.id))
        # Each visit to a unit of its own site (the site rule refuses any other).
        to_assign = [(v.id, v.patient_id % SITES) for v in free[len(crews):]]
        families = [(f"+1626{v.patient_id:07d}", v.id) for v in free[:len(crews)]]
    rng.shuffle(to_assign)
    return {"crews": crews, "to_assign": to_assign, "families": families,
            "late_ids": sorted(late_ids),
            "dispatcher": dispatcher}


def move_late_bags(database, late_ids: list[int], by: timedelta) -> None:
    """The late bags' grace expires during the day, not while the region was seeded and
    the reference load ran: their times move on by what those took."""
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE bag SET due_at = due_at + :by, hung_at = hung_at + :by "
                                "WHERE course_id = ANY(:late)"), {"by": by, "late": late_ids})


def signed(n: int, phone: str, body: str) -> tuple:
    params = {"MessageSid": f"SM{n:032d}", "From": phone, "To": "+13105550199", "Body": body,
              "AccountSid": ACCOUNT_SID}
    url = f"http://127.0.0.1:{WEB_PORT}/twilio/sms"
    signature = RequestValidator(WEBHOOK_TOKEN).compute_signature(url, params)
    return ("POST", "/twilio/sms", urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded",
             "X-Twilio-Signature": signature}, 200)


def check_ins(first: int, count: int, crews) -> list:
    return [signed(first + n, *_pump(crews[n % len(crews)])) for n in range(count)]


def _pump(crew):
    phone, visit_id = crew
    return phone, f"PUMP V{visit_id} RUNNING"


def family_replies(first: int, count: int, families) -> list:
    return [signed(first + n, families[n % len(families)][0], "YES") for n in range(count)]


def assignments(count: int, to_assign, dispatcher: str) -> list:
    headers = {"Authorization": f"Bearer {dispatcher}", "Content-Type": "application/json"}
    # Unit u (1-based) is of site (u - 1) % SITES, as seed() made them.
    return [("POST", f"/api/v1/visits/{visit_id}/assign",
             f'{{"unit_id": {site + 1 + SITES * (n % (UNITS // SITES))}}}'.encode(), headers,
             200)
            for n, (visit_id, site) in enumerate(to_assign[:count])]


def run_day(seconds: int, load: dict) -> dict:
    """The three streams at once, each paced, for ``seconds``."""
    streams = {
        "checkins": (check_ins(10_000_000, 20 * seconds, load["crews"]), 20, 8),
        "families": (family_replies(20_000_000, 2 * seconds, load["families"]), 2, 2),
        "dispatcher": (assignments(seconds, load["to_assign"], load["dispatcher"]), 1, 1),
    }
    results = {}

    def run(name, requests, rate, concurrency):
        results[name] = drive(WEB_PORT, requests, concurrency, rate=rate)

    threads = [threading.Thread(target=run, args=(name, *stream))
               for name, stream in streams.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def settle(database, fake, deadline_seconds: int = 60) -> None:
    """Wait until nothing is queued or being sent (the scheduler drains the outbox)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with database.engine.connect() as connection:
            waiting = connection.execute(text(
                "SELECT count(*) FROM outbound_message WHERE status IN ('queued', 'sending') "
                "AND (next_attempt_at IS NULL OR next_attempt_at <= now())")).scalar()
        if not waiting:
            return
        time.sleep(1)


def figures(database, fake, late: int, answered: int) -> dict:
    arrivals = fake.arrivals
    with database.engine.connect() as connection:
        sent = connection.execute(text(
            "SELECT provider_sid, created_at, claimed_at FROM outbound_message "
            "WHERE provider_sid IS NOT NULL")).all()
        alerts = connection.execute(text(
            "SELECT a.id, a.condition_at, m.provider_sid FROM alert a "
            "JOIN outbound_message m ON m.alert_id = a.id "
            "WHERE a.kind = 'missed_bag_change' AND m.provider_sid IS NOT NULL")).all()
        raised_late = connection.execute(text(
            "SELECT count(DISTINCT bag_id) FROM alert WHERE kind = 'missed_bag_change'")).scalar()
        never_sent = connection.execute(text(
            "SELECT count(*) FROM outbound_message WHERE status IN ('queued', 'sending') "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= now())")).scalar()
        longest = connection.execute(text(
            "SELECT job, max(duration_ms) FROM job_run GROUP BY job ORDER BY 2 DESC LIMIT 5")).all()
        sender_runs = connection.execute(text(
            "SELECT started_at, duration_ms FROM job_run WHERE job = 'outbox_sender' "
            "ORDER BY started_at")).all()
        inbound = connection.execute(text(
            "SELECT count(*), count(DISTINCT provider_sid) FROM inbound_message "
            "WHERE provider_sid LIKE :day"), {"day": f"SM{'0' * 24}1%"}).one()
    lags = sorted(arrivals[sid] - created.timestamp() for sid, created, _ in sent
                  if sid in arrivals)
    # Where the lag is spent: waiting to be claimed by the sender, or at the provider.
    claim_waits = sorted((claimed - created).total_seconds() for _, created, claimed in sent)
    first_sms = {}
    for alert_id, _condition_at, sid in alerts:
        if sid in arrivals:
            first_sms[alert_id] = min(first_sms.get(alert_id, arrivals[sid]), arrivals[sid])
    conditions = {alert_id: condition_at for alert_id, condition_at, _ in alerts}
    alert_delays = sorted(at - conditions[alert_id].timestamp()
                          for alert_id, at in first_sms.items())
    # The sender's longest pause: from the end of one run to the start of the next.
    sender_gaps = [(later[0] - earlier[0]).total_seconds() - earlier[1] / 1000
                   for earlier, later in zip(sender_runs, sender_runs[1:], strict=False)]
    doubled_sms = len(fake.messages) - len({(m["to"], m["body"]) for m in fake.messages})
    return {
        "outbox_lag_p99_s": _p99(lags), "outbox_lag_p50_s": _p50(lags), "sms": len(lags),
        "claim_wait_p99_s": _p99(claim_waits),
        "longest_jobs": {job: round(ms / 1000, 1) for job, ms in longest},
        "sender_longest_pause_s": round(max(sender_gaps), 1) if sender_gaps else None,
        "alerts": raised_late, "alert_p99_s": _p99(alert_delays),
        "alert_p50_s": _p50(alert_delays),
        "lost": max(answered - inbound[0], 0) + max(late - raised_late, 0) + never_sent,
        "duplicates": doubled_sms + (inbound[0] - inbound[1]),
    }


def _p99(values):
    return round(values[max(int(len(values) * 0.99) - 1, 0)], 2) if values else None


def _p50(values):
    return round(statistics.median(values), 2) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--courses", type=int, default=5000)
    parser.add_argument("--late", type=int, default=200)
    parser.add_argument("--twilio-latency", type=float, default=0.15,
                        help="seconds the fake Twilio takes to answer each SMS (the real "
                             "API: 0.1-0.3 s)")
    args = parser.parse_args()
    rng = random.Random(17)
    fake = FakeTwilio(latency_seconds=args.twilio_latency)
    with fresh_database("opsbackend_bench_region") as url:
        database = Database(url, SystemClock())
        started = time.perf_counter()
        seeded_at = datetime.now(UTC)
        load = seed(database, args.courses, args.late, args.seconds, rng)
        print(f"seeded {args.courses} courses, {UNITS} units, {len(load['crews'])} nurses "
              f"in {time.perf_counter() - started:.0f} s")
        env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
               "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
               "TWILIO_FROM_NUMBER": "+13105550199", "TWILIO_API_BASE_URL": fake.url}
        web_env = env | {"PORT": str(WEB_PORT), "WEB_CONCURRENCY": str(OURS_WORKERS),
                         "TWILIO_AUTH_TOKEN": WEBHOOK_TOKEN}
        with server([str(BIN / "opsbackend"), "serve"], web_env, WEB_PORT):
            # Reference: the check-in load alone, before the scheduler and the day start.
            reference = drive(WEB_PORT, check_ins(1, 20 * 20, load["crews"]), 8, rate=20)
            move_late_bags(database, load["late_ids"], datetime.now(UTC) - seeded_at)
            scheduler = _start_scheduler(env)
            try:
                results = run_day(args.seconds, load)
                settle(database, fake)
            finally:
                scheduler.terminate()
                scheduler.wait(timeout=30)
        answered = results["checkins"]["requests"] - results["checkins"]["failures"]
        found = figures(database, fake, args.late, answered)
        database.dispose()
    fake.close()
    checkins, families, dispatch = (results[k] for k in ("checkins", "families", "dispatcher"))
    print(f"check-ins {checkins['requests']} at 20 req/s: p50 {checkins['p50_ms']} ms, p99 "
          f"{checkins['p99_ms']} ms (target <= 100 ms), failures {checkins['failures']}; "
          f"alone before the day: p99 {reference['p99_ms']} ms")
    print(f"family replies {families['requests']}: p99 {families['p99_ms']} ms, failures "
          f"{families['failures']}; assignments {dispatch['requests']}: p99 "
          f"{dispatch['p99_ms']} ms, refused or failed {dispatch['failures']} "
          f"({dispatch['first_failure']})")
    print(f"late bags {args.late}: {found['alerts']} alerts, grace -> first SMS p50 "
          f"{found['alert_p50_s']} s, p99 {found['alert_p99_s']} s (target <= 30 s); "
          f"{found['sms']} SMS, outbox lag p50 {found['outbox_lag_p50_s']} s, p99 "
          f"{found['outbox_lag_p99_s']} s (target <= 10 s; waiting to be claimed p99 "
          f"{found['claim_wait_p99_s']} s; Twilio answering in {args.twilio_latency} s); "
          f"lost {found['lost']}, duplicates {found['duplicates']}")
    print(f"longest job runs (s): {found['longest_jobs']}; the sender's longest pause between "
          f"runs {found['sender_longest_pause_s']} s")
    last_line({"checkins": checkins["requests"], "checkin_p99_ms": checkins["p99_ms"],
               "alerts": found["alerts"], "alert_p99_s": found["alert_p99_s"],
               "outbox_lag_p99_s": found["outbox_lag_p99_s"], "lost": found["lost"],
               "duplicates": found["duplicates"],
               "reference_checkin_p99_ms": reference["p99_ms"],
               "family_replies": families["requests"], "assignments": dispatch["requests"],
               "sms": found["sms"], "claim_wait_p99_s": found["claim_wait_p99_s"],
               "twilio_latency_s": args.twilio_latency})
    return 0 if found["lost"] == 0 and found["duplicates"] == 0 else 1


def _start_scheduler(env: dict):
    import os
    import subprocess

    return subprocess.Popen([str(BIN / "opsbackend"), "scheduler"], env=os.environ | env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
