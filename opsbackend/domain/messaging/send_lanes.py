"""Sending side by side: one lane per thread of messages, several lanes at a time.

A provider call takes 100-300 ms (Twilio's REST API from a data centre), so one
message after another is 3-10 SMS a second: a burst of two thousand alerts would
take minutes to hand over. The outbox sends in lanes instead: the messages of one
thread (to one phone about one alert or visit) one after another, in the order they
were written; other threads at the same time. 32 lanes give ~200 SMS/s at 150 ms
each (``SMS_SEND_LANES``). Twilio refuses an account's requests beyond its concurrency
limit with a 429 (error 20429, never processed: the outbox's transient error, retried
after a pause); guides put the usual limit at 100 concurrent requests, Twilio does not
publish it, and its ``Twilio-Concurrent-Requests`` response header shows the load.

The threads are kept between passes (``_pool``), so each keeps its provider
connection open (``TwilioSmsProvider`` has a client per thread).
"""

import os
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")

# Lanes a pass runs unless told otherwise (SMS_SEND_LANES), and the most it may: the
# threads are made as lanes need them and kept.
DEFAULT_LANES = 32
MAX_LANES = 64
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def run_in_lanes(items: Sequence[Item], lane_of: Callable[[Item], Hashable],
                 work: Callable[[Item], bool], lanes: int = DEFAULT_LANES) -> list[Item]:
    """``work(item)`` for each item: the items of one lane (``lane_of``) one after
    another in their order, up to ``lanes`` lanes at once, oldest lane first.

    ``work`` returning False stops every lane before its next item. Returns the items
    that were never started. An error in one lane stops the others the same way and is
    raised here once every lane has stopped.
    """
    groups: dict[Hashable, list[Item]] = {}
    for item in items:
        groups.setdefault(lane_of(item), []).append(item)
    if not groups:
        return []
    waiting = iter(list(groups.values()))
    stop = threading.Event()
    lock = threading.Lock()
    untried: list[Item] = []

    def next_group() -> list[Item] | None:
        with lock:
            return next(waiting, None)

    def run_lane() -> None:
        while (group := next_group()) is not None:
            for position, item in enumerate(group):
                if stop.is_set():
                    with lock:
                        untried.extend(group[position:])
                    break
                try:
                    keep_going = work(item)
                except BaseException:
                    stop.set()
                    raise
                if not keep_going:
                    stop.set()

    runners = [_shared_pool().submit(run_lane)
               for _ in range(max(1, min(lanes, MAX_LANES, len(groups))))]
    errors = [runner.exception() for runner in runners]
    for error in errors:
        if error is not None:
            raise error
    return untried


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_LANES, thread_name_prefix="sms-lane")
        return _pool


def _forget_pool_after_fork() -> None:
    """A forked child (a gunicorn worker of ``serve --with-scheduler``, whose master runs
    the sender) has none of its parent's threads: a pool it inherited would take work and
    never run it. It makes its own when it first sends."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
