"""Who watches the scheduler: when no scheduler has led for 2 minutes, each site's
on-call phone gets an SMS.

Every scheduler process (the standbys too: the leader may be hung while still holding
its lock) and every web server (``opsbackend serve``: all the schedulers may be gone)
runs this watch every ``WATCH_SECONDS``. Whoever notices first raises the alerts, keyed
by the last heartbeat (one outage, one alert per site, however many notice it), and
sends their SMS itself: the leader's outbox sender is what stopped. The outbox claims
each message before sending it, so two watchers never send one twice. When a
scheduler leads again, the alerts resolve.
"""

import logging
from datetime import datetime, timedelta

from opsbackend.clock import Clock
from opsbackend.domain.alerting import scheduler_down
from opsbackend.domain.history import job_status
from opsbackend.domain.messaging import outbox

log = logging.getLogger("opsbackend.jobs")
NO_LEADER_AFTER = timedelta(minutes=2)
WATCH_SECONDS = 15


class SchedulerWatch:
    def __init__(self, database, clock: Clock, provider, status_callback_base: str = ""):
        self.database = database
        self.clock = clock
        self.provider = provider
        self.status_callback_base = status_callback_base
        # With no heartbeat at all, the outage is counted from when this watch began.
        self.started_at = clock.now()

    def check(self) -> int:
        """One look; returns how many alerts it raised."""
        now = self.clock.now()
        with self.database.transaction(actor="scheduler-watch") as session:
            beat = job_status.leader(session)
            quiet_since = beat.heartbeat_at if beat else self.started_at
            if now - quiet_since < NO_LEADER_AFTER:
                if beat is not None:
                    scheduler_down.close_led_again(session, self.clock)
                return 0
            raised = scheduler_down.raise_no_leader(
                session, self.clock, beat.heartbeat_at if beat else None,
                condition_at=quiet_since + NO_LEADER_AFTER)
            if raised:
                log.error("no scheduler has led for 2 minutes: on-call alerted",
                          extra={"since": _iso(beat.heartbeat_at if beat else None)})
            unsent = scheduler_down.unsent_messages(session)
        outbox.send_due(self.database, self.clock, self.provider, only_ids=unsent,
                        status_callback_base=self.status_callback_base)
        return len(raised)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
