"""The outbox: every SMS is a row written with its cause, sent later by the sender.

Never twice: a row is claimed (``sending``, committed) before the provider is
called, so a crash after the call leaves ``sending``, never ``queued``. A row
stuck in ``sending`` is resolved by the reaper: from the status callback that
tied a provider SID to it (its ``outbox_id`` rides in the callback URL), or by
asking the provider for a message with that body to that number since the
claim; only when the provider has none is it queued again.

Never lost: the row is committed with the change that caused it; transient
provider errors retry with exponential backoff and jitter; while the provider
is down the sender pauses, so that when it is back the messages to a phone about one
alert or visit go out in the order they were written (side by side with the rest:
``send_lanes``).
"""

import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, func, select, update
from sqlmodel import Session

from opsbackend.clock import Clock
from opsbackend.domain.interop.webhook_events import contact_opted_out
from opsbackend.domain.messaging import outdated, send_lanes
from opsbackend.models import Alert, Contact, OutboundMessage, Patient, Site, SmsOptOut
from opsbackend.sms.provider import PermanentSmsError, SendResult, TransientSmsError

log = logging.getLogger("opsbackend.outbox")
# The sender's bookkeeping is SQL core on the table (the row is its own record of
# delivery); the messages themselves are written through the ORM, with their cause.
OUTBOX = OutboundMessage.__table__

# Non-safety messages give up after this many tries (about 1.5 hours of trying).
MAX_ATTEMPTS = 20
BASE_BACKOFF = timedelta(seconds=30)
# Short: during an outage the whole queue waits on this (see _provider_on_hold).
MAX_BACKOFF = timedelta(minutes=5)
# Longer than the provider's HTTP timeout: a row this long in "sending" is stuck.
STUCK_AFTER = timedelta(minutes=2)
UNSUBSCRIBED = "21610"  # Twilio: the recipient replied STOP
# Twilio: too many concurrent requests from the account. Never processed, and not an
# outage: the lanes stop and the queue waits a moment, not a backoff.
TOO_MANY_AT_ONCE = "20429"
TOO_MANY_AT_ONCE_PAUSE = timedelta(seconds=2)
QUIET_HOURS_PURPOSES = ("reminder", "info")
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "undelivered": 3,
               "failed": 3, "suppressed": 3}
PROVIDER_STATUSES = {"delivered": "delivered", "read": "delivered",
                     "undelivered": "undelivered", "failed": "failed", "canceled": "failed"}


@dataclass
class SendSummary:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    reaped: int = 0
    paused: bool = False
    # The messages the provider took in this pass.
    sent_ids: list[int] = field(default_factory=list)


# The order the sender takes due messages in, lowest first, then oldest: a missed bag
# change's SMS do not wait behind a busy start's thousands (every visit of the next
# hours without a unit alerts its desk; the day's family reminders). Safety SMS take
# their alert's severity; the rest their purpose.
ALERT_PRIORITY = {"critical": 0, "high": 0}  # any other severity: 1
PURPOSE_PRIORITY = {"safety": 1, "visit": 2}  # reminders and information: 3


def alert_priority(severity: str) -> int:
    return ALERT_PRIORITY.get(severity, 1)


def queue_message(
    session: Session, clock: Clock, *, to_phone: str, body: str, template: str,
    language: str = "en", purpose: str = "info", contact: Contact | None = None,
    nurse_id=None, visit_id=None, alert_id=None, course_id=None, dedupe_key: str | None = None,
    hold_for_quiet_hours: bool | None = None, priority: int | None = None,
) -> OutboundMessage | None:
    """Queue one SMS in the caller's transaction; None when ``dedupe_key`` was queued before.

    A contact's quiet hours hold reminders and information (``hold_for_quiet_hours``
    overrides that, for one message).
    """
    queued = queue_messages(session, clock, [dict(
        to_phone=to_phone, body=body, template=template, language=language, purpose=purpose,
        contact=contact, nurse_id=nurse_id, visit_id=visit_id, alert_id=alert_id,
        course_id=course_id, dedupe_key=dedupe_key, hold_for_quiet_hours=hold_for_quiet_hours,
        priority=priority)])
    return queued[0] if queued else None


def _opted_out(session: Session, phones: set[str]) -> set[str]:
    """Phones Twilio would refuse (21610): a family contact who opted out, or any phone
    that texted STOP (a nurse's, a dispatch line: its alert to dispatch already stands)."""
    found = set()
    for chunk in _chunks(list(phones)):
        found.update(session.scalars(select(Contact.phone).where(
            Contact.phone.in_(chunk), Contact.opted_out.is_(True))))
        found.update(session.scalars(select(SmsOptOut.phone).where(
            SmsOptOut.phone.in_(chunk), SmsOptOut.opted_out.is_(True))))
    return found


def _chunks(values: list, size: int = 5000):
    """``IN`` lists of at most ``size`` values: a day's reminders at a large region run to
    tens of thousands, past what one statement may bind (SQLite 32,766; PostgreSQL 65,535)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def queue_messages(session: Session, clock: Clock, messages: list[dict]) -> list[OutboundMessage]:
    """Queue many SMS (``queue_message``'s keywords each) in a few statements, whatever
    their number: the burst of a scan that raised hundreds of alerts at once. Those whose
    ``dedupe_key`` was queued before are left out. ``body`` may be a function that writes
    it, called only for a message queued now (a job that offers the same reminders every
    minute does not render them again)."""
    keys = [m["dedupe_key"] for m in messages if m.get("dedupe_key")]
    taken = {key for chunk in _chunks(keys) for key in session.scalars(
        select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(chunk)))}
    phones = {m["to_phone"] for m in messages}
    opted_out = _opted_out(session, phones)
    rows = []
    for values in messages:
        values = dict(values)
        contact = values.pop("contact", None)
        hold = values.pop("hold_for_quiet_hours", None)
        zone = values.pop("zone", None)  # the contact's, when the caller knows it
        if values.get("priority") is None:
            values["priority"] = PURPOSE_PRIORITY.get(values.get("purpose", "info"), 3)
        key = values.get("dedupe_key")
        if key is not None and key in taken:
            continue
        taken.add(key)
        body = values["body"]() if callable(values["body"]) else values["body"]
        message = OutboundMessage(**values | {"body": body[:1600],
                                              "contact_id": contact.id if contact else None})
        if message.to_phone in opted_out:
            message.status, message.suppressed_reason = "suppressed", "opted_out"
        elif contact is not None and (message.purpose in QUIET_HOURS_PURPOSES if hold is None
                                      else hold):
            # Quiet hours hold reminders until morning; safety alerts and news about a
            # visit under way never wait.
            message.next_attempt_at = quiet_hours_end(session, clock.now(), contact, zone)
        rows.append(message)
    session.add_all(rows)
    session.flush()
    return rows


def quiet_hours_end(session: Session, now: datetime, contact: Contact,
                    zone_name: str | None = None) -> datetime | None:
    """The end of the contact's quiet hours when ``now`` falls inside them, else None.
    ``zone_name``: the contact's zone (its own, else its site's), when already known."""
    zone = ZoneInfo(zone_name or contact.timezone or _site_timezone(session, contact))
    local = now.astimezone(zone)
    start, end = contact.quiet_hours_start, contact.quiet_hours_end
    if not _inside(local.time(), start, end):
        return None
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, zone)


def send_due(database, clock: Clock, provider, *, batch_size: int = 100,
             max_attempts: int = MAX_ATTEMPTS, status_callback_base: str = "",
             only_ids: list[int] | None = None,
             lanes: int = send_lanes.DEFAULT_LANES) -> SendSummary:
    """One pass: resolve stuck rows, then claim and send due messages, the most urgent
    first (``ALERT_PRIORITY``, ``PURPOSE_PRIORITY``), then the oldest, in ``lanes`` (each
    thread in order, several at once: ``send_lanes``, ``_Claimed.thread``).

    The batch costs two transactions whatever its size: one claims it (and suppresses
    what should no longer go out), one records the provider's SIDs. A crash in between
    leaves rows ``sending``, which the reaper settles without sending them again.
    ``only_ids``: just those messages, if due (the scheduler watch's, while no sender runs).
    """
    summary = SendSummary()
    if only_ids is None:
        summary.reaped = reap_stuck(database, clock, provider)
    elif not only_ids:
        return summary
    batch = _claim(database, clock, batch_size, summary, only_ids)
    outcomes = _Outcomes()
    counted = threading.Lock()

    def send(message: _Claimed) -> bool:
        outcome = _send_one(database, clock, provider, message, outcomes, max_attempts,
                            status_callback_base)
        with counted:
            setattr(summary, outcome, getattr(summary, outcome) + 1)
        # "retried": the provider is struggling; the rest wait, so that order is kept.
        return outcome != "retried"

    try:
        untried = send_lanes.run_in_lanes(batch, lambda message: message.thread, send, lanes)
        summary.paused = summary.retried > 0
        _release_claims(database, [message.id for message in untried])
    finally:
        # Also when the pass dies half-way: what went out is recorded, not left to the reaper.
        _record_outcomes(database, clock, outcomes)
    summary.sent_ids = [message_id for message_id, _result in outcomes.sent]
    return summary


def reap_stuck(database, clock: Clock, provider) -> int:
    cutoff = clock.now() - STUCK_AFTER
    with database.transaction(actor="outbox") as session:
        stuck = session.scalars(
            select(OutboundMessage).where(OutboundMessage.status == "sending",
                                          OutboundMessage.claimed_at <= cutoff)
            .with_for_update(skip_locked=True, key_share=True)
        ).all()
        for message in stuck:
            if message.provider_sid:  # a status callback told us the provider has it
                message.status = "sent"
                message.sent_at = message.sent_at or message.claimed_at
                continue
            try:
                found = provider.find_sent(message.to_phone, message.claimed_at
                                           - timedelta(minutes=1), message.body)
            except TransientSmsError:
                continue  # ask again next pass; never guess
            if found is not None:
                message.status, message.provider_sid = "sent", found.sid
                message.sent_at = message.claimed_at
            else:
                message.status, message.next_attempt_at = "queued", clock.now()
        return len(stuck)


def record_status_callback(
    session: Session, clock: Clock, *, outbox_id: int | None, sid: str | None,
    status: str, error_code: str | None = None,
) -> OutboundMessage | None:
    """Twilio's MessageStatus for a message; unknown SIDs are ignored (None)."""
    message = session.get(OutboundMessage, outbox_id) if outbox_id else None
    if message is None and sid:
        message = session.scalars(
            select(OutboundMessage).where(OutboundMessage.provider_sid == sid)
        ).first()
    if message is None or (sid and message.provider_sid not in (None, sid)):
        return None
    if sid and message.provider_sid is None:
        message.provider_sid = sid  # resolves a row left "sending" by a crash
    new = PROVIDER_STATUSES.get(status, "sent")
    if STATUS_RANK[new] > STATUS_RANK[message.status] or (
        message.status == "sent" and new != "sent"
    ):
        message.status = new
        now = clock.now()
        if new == "sent":
            message.sent_at = message.sent_at or now
        if new == "delivered":
            message.delivered_at = now
    if error_code:
        message.last_error_code = str(error_code)[:20]
        if str(error_code) == UNSUBSCRIBED:
            set_opt_out(session, clock, message.to_phone, True)
    session.flush()
    return message


def set_opt_out(session: Session, clock: Clock, phone: str, opted_out: bool) -> int:
    """STOP / START for every contact on this phone; queued messages to it are suppressed.
    A staff phone (a nurse's, a dispatch or on-call line) that stopped raises an alert to
    its site's dispatch (``opt_outs``).

    Carriers block every message to a number that replied STOP, safety ones too:
    those are suppressed as well and the people on the alert's ladder still get theirs.
    """
    from opsbackend.domain.phone import opt_outs  # it raises alerts, which use the outbox

    opt_outs.record(session, clock, phone, opted_out)
    contacts = session.scalars(select(Contact).where(Contact.phone == phone)).all()
    for contact in contacts:
        if contact.opted_out != opted_out:
            contact.opted_out = opted_out
            contact.opted_out_at = clock.now() if opted_out else None
            if opted_out:
                contact_opted_out(session, contact)
    if opted_out:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.to_phone == phone, OutboundMessage.status == "queued")
            .values(status="suppressed", suppressed_reason="opted_out")
        )
    session.flush()
    return len(contacts)


def backoff(attempts: int, rng=random.random) -> timedelta:
    """Exponential, capped, with full jitter on the upper half."""
    delay = min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    return delay / 2 + delay / 2 * rng()


@dataclass(frozen=True)
class _Claimed:
    id: int
    to_phone: str
    body: str
    alert_id: int | None = None
    visit_id: int | None = None

    @property
    def thread(self) -> tuple:
        """What must reach this phone in order: the messages about one alert, or one visit
        (an alert before its escalation, a visit's change before its next); the desk's
        messages about a hundred other alerts go side by side."""
        return self.to_phone, self.alert_id, self.visit_id


def _claim(database, clock: Clock, limit: int, summary: SendSummary,
           only_ids: list[int] | None = None) -> list[_Claimed]:
    """Mark up to ``limit`` due messages ``sending``, the most urgent first; those whose
    recipient has opted out or whose alert was closed meanwhile are suppressed instead."""
    now = clock.now()
    with database.transaction(actor="outbox") as session:
        if _provider_on_hold(session, now):
            return []
        due = (
            select(OUTBOX.c.id)
            .where(OUTBOX.c.status == "queued",
                   OUTBOX.c.next_attempt_at.is_(None) | (OUTBOX.c.next_attempt_at <= now))
            .order_by(OUTBOX.c.priority, OUTBOX.c.id)
            .limit(limit)
            # PostgreSQL; SQLite writers take turns
            .with_for_update(skip_locked=True, key_share=True)
        )
        if only_ids is not None:
            due = due.where(OUTBOX.c.id.in_(only_ids))
        # Two statements, not ``UPDATE ... WHERE id IN (that SELECT)``: with that form
        # PostgreSQL claimed the whole queue whatever ``limit`` said (test_outbox: 25 of
        # a limit of 5); a subquery with LIMIT and SKIP LOCKED is not sure to run once.
        due_ids = session.scalars(due).all()
        if not due_ids:
            return []
        rows = session.execute(
            update(OUTBOX)
            # status again: a second sender's claim on SQLite finds nothing left to take.
            .where(OUTBOX.c.id.in_(due_ids), OUTBOX.c.status == "queued")
            .values(status="sending", claimed_at=now, attempts=OUTBOX.c.attempts + 1,
                    updated_at=now)
            .returning(OUTBOX.c.id, OUTBOX.c.to_phone, OUTBOX.c.body, OUTBOX.c.alert_id,
                       OUTBOX.c.visit_id, OUTBOX.c.template, OUTBOX.c.created_at,
                       OUTBOX.c.priority)
        ).all()
        summary.claimed = len(rows)
        unwanted = _unwanted(session, rows, now)
        for reason, ids in unwanted.items():
            session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids))
                            .values(status="suppressed", suppressed_reason=reason,
                                    updated_at=now))
            summary.suppressed += len(ids)
        skipped = {message_id for ids in unwanted.values() for message_id in ids}
        return _most_urgent_threads_first(
            [row for row in rows if row.id not in skipped])


def _most_urgent_threads_first(rows) -> list[_Claimed]:
    """The claimed batch in the order the lanes start it: the threads holding the most
    urgent messages first; within a thread, the order the messages were written (the
    sort is stable)."""
    claimed = [(_Claimed(row.id, row.to_phone, row.body, row.alert_id, row.visit_id),
                row.priority) for row in sorted(rows, key=lambda row: row.id)]
    urgency: dict[tuple, int] = {}
    for message, priority in claimed:
        urgency[message.thread] = min(urgency.get(message.thread, priority), priority)
    return [message for message, _priority
            in sorted(claimed, key=lambda pair: urgency[pair[0].thread])]


def _unwanted(session: Session, rows, now: datetime) -> dict[str, list[int]]:
    """Claimed messages that must not go out: the recipient sent STOP, someone acted on
    the alert before its escalation SMS left, or the visit it is about moved, started,
    ended or was cancelled since it was queued (``outdated``)."""
    # Checked again here, not only when queued: a message queued by a transaction that
    # began before a STOP committed escaped both that check and STOP's sweep of the queue.
    opted_out = _opted_out(session, {row.to_phone for row in rows})
    alert_ids = {row.alert_id for row in rows if row.alert_id is not None}
    closed = set(session.scalars(
        select(Alert.id).where(Alert.id.in_(alert_ids), Alert.status != "open")
    )) if alert_ids else set()
    unwanted = {
        "opted_out": [row.id for row in rows if row.to_phone in opted_out],
        "alert_closed": [row.id for row in rows
                         if row.alert_id in closed and row.to_phone not in opted_out],
    }
    for row, reason in outdated.claimed(session, rows, now):
        if row.to_phone not in opted_out:
            unwanted.setdefault(reason, []).append(row.id)
    return {reason: ids for reason, ids in unwanted.items() if ids}


@dataclass
class _Outcomes:
    """What one pass learnt, recorded in one transaction at its end."""

    sent: list[tuple[int, SendResult]] = field(default_factory=list)
    # Recipients Twilio refused during this pass because they replied STOP (21610):
    # the rest of the batch to them is suppressed, not sent.
    stopped_phones: set[str] = field(default_factory=set)
    suppressed_ids: list[int] = field(default_factory=list)


def _send_one(database, clock, provider, message: _Claimed, outcomes: _Outcomes,
              max_attempts: int, callback_base: str) -> str:
    if message.to_phone in outcomes.stopped_phones:
        outcomes.suppressed_ids.append(message.id)
        return "suppressed"
    callback = f"{callback_base}/twilio/status?outbox_id={message.id}" if callback_base else None
    try:
        outcomes.sent.append((message.id, provider.send(message.to_phone, message.body,
                                                        callback)))
        return "sent"
    except TransientSmsError as exc:
        if exc.maybe_sent:
            log.warning("send outcome unknown; the reaper will check",
                        extra={"outbox_id": message.id})
            return "retried"
        return _record_failure(database, clock, message.id, exc, max_attempts)
    except PermanentSmsError as exc:
        if exc.code == UNSUBSCRIBED:
            outcomes.stopped_phones.add(message.to_phone)
        return _record_failure(database, clock, message.id, exc, max_attempts)


def _record_outcomes(database, clock: Clock, outcomes: _Outcomes) -> None:
    """The provider's SIDs in one statement, and the suppressions. A status callback
    may have come before the SID is recorded: it set the SID and a later status,
    which stay."""
    if not (outcomes.sent or outcomes.suppressed_ids):
        return
    now = clock.now()
    with database.transaction(actor="outbox") as session:
        if outcomes.suppressed_ids:
            session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(outcomes.suppressed_ids))
                            .values(status="suppressed", suppressed_reason="opted_out",
                                    updated_at=now))
        if not outcomes.sent:
            return
        status = case((OUTBOX.c.status == "sending", bindparam("new_status")),
                      else_=OUTBOX.c.status)
        delivered_at = case((bindparam("new_status") == "delivered",
                             func.coalesce(OUTBOX.c.delivered_at, now)),
                            else_=OUTBOX.c.delivered_at)
        session.connection().execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("message_id"))
            .values(status=status, delivered_at=delivered_at, updated_at=now,
                    provider_sid=func.coalesce(OUTBOX.c.provider_sid, bindparam("sid")),
                    sent_at=func.coalesce(OUTBOX.c.sent_at, now)),
            [{"message_id": message_id, "sid": result.sid,
              "new_status": "delivered" if result.status == "delivered" else "sent"}
             for message_id, result in outcomes.sent],
        )


def _record_failure(database, clock, message_id, exc, max_attempts) -> str:
    with database.transaction(actor="outbox") as session:
        message = session.get(OutboundMessage, message_id)
        message.last_error = str(exc)[:500]
        message.last_error_code = getattr(exc, "code", None)
        message.status = "queued"
        if message.last_error_code == TOO_MANY_AT_ONCE:  # never given up on for this
            message.next_attempt_at = clock.now() + TOO_MANY_AT_ONCE_PAUSE
            return "retried"
        # Safety messages are never given up on for a transient error: they wait out the
        # outage. Others fail after max_attempts.
        gave_up = message.purpose != "safety" and message.attempts >= max_attempts
        if isinstance(exc, PermanentSmsError) or gave_up:
            message.status = "failed"
            if message.last_error_code == UNSUBSCRIBED:
                set_opt_out(session, clock, message.to_phone, True)
            return "failed"
        message.next_attempt_at = clock.now() + backoff(message.attempts)
        return "retried"


def _release_claims(database, message_ids: list[int]) -> None:
    """Rows this pass claimed but did not try go back, their attempt not counted."""
    if not message_ids:
        return
    with database.transaction(actor="outbox") as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(message_ids), OutboundMessage.status == "sending")
            .values(status="queued", attempts=OutboundMessage.attempts - 1)
        )


def _provider_on_hold(session: Session, now: datetime) -> bool:
    """A message waiting out a transient provider error holds the queue behind it, so
    that after an outage everything goes out oldest first (the hold is its backoff)."""
    return session.scalars(
        select(OutboundMessage.id).where(
            OutboundMessage.status == "queued", OutboundMessage.attempts > 0,
            OutboundMessage.last_error_code.is_not(None), OutboundMessage.next_attempt_at > now,
        ).limit(1)
    ).first() is not None


def _site_timezone(session: Session, contact: Contact) -> str:
    patient = session.get(Patient, contact.patient_id)
    return session.get(Site, patient.site_id).timezone


def _inside(moment: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end  # quiet hours across midnight


def queue_figures(session: Session, now: datetime) -> tuple[dict[str, int], float]:
    """How many messages wait to go out (queued) or are being sent, by status, and how
    long the oldest due one has waited, in seconds (since it became due: a reminder held
    for quiet hours is not late)."""
    depth = dict(session.execute(
        select(OUTBOX.c.status, func.count()).where(OUTBOX.c.status.in_(("queued", "sending")))
        .group_by(OUTBOX.c.status)
    ).all())
    oldest = session.scalar(
        select(func.min(func.coalesce(OUTBOX.c.next_attempt_at, OUTBOX.c.created_at)))
        .where(OUTBOX.c.status == "queued",
               OUTBOX.c.next_attempt_at.is_(None) | (OUTBOX.c.next_attempt_at <= now))
    )
    return ({status: depth.get(status, 0) for status in ("queued", "sending")},
            max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
