"""gunicorn's settings for ``opsbackend serve`` (make run, the benchmarks, the image):
one file, read whatever starts the server. Each can be changed by an environment variable.

workers = WEB_CONCURRENCY (default 2; ``--workers`` overrides it): one per core the
    server may use. Processes are what use the cores (the GIL), and each worker's threads
    already overlap its requests' database waits, so more processes than cores only take
    turns on them: on two cores, with PostgreSQL on the same machine, 2 workers wrote
    patients at 285-288 req/s against 243-260 with 4 (4.9 against 5.9 ms of a worker's
    CPU per request) and took check-ins at 140 req/s against 132 (bench_api,
    bench_phone, 2026-11-30). Not the core count by default: in a container that is
    the host's, and 64 workers would exhaust the database's connections.
    Each keeps its own pool of at most 5+10 database connections (SQLAlchemy's
    default), so workers x replicas x 15 must stay under PostgreSQL's max_connections.
threads = WEB_THREADS (default 4): the gthread worker. A request mostly waits on
    PostgreSQL; threads let a worker serve another meanwhile (the sync worker serves one
    connection at a time, so a slow client or a proxy without buffering holds a whole
    worker), and a burst of Twilio webhooks is not queued behind one slow request.
timeout = WEB_TIMEOUT (default 30 s): a worker whose main loop is silent this long is
    killed and replaced. With threads it is not a per-request limit, it catches a
    wedged worker; database calls have their own limits (connect timeout, pool).
graceful_timeout (20 s): on SIGTERM (a deploy, ``docker compose stop``) requests in
    flight finish; the compose file gives the container 30 s before SIGKILL.
keepalive = 0: every answer says ``Connection: close`` and the connection closes. A
    kept-alive connection stays with the worker that accepted it, and a gthread worker
    accepts while busy: a proxy's pool (nginx, a cloud load balancer) or any client that
    reuses connections ended up with most of them on one worker, held to one core by
    the GIL while the others idled. bench_phone measured it: 95 check-ins/s with one
    worker doing 70-90 % of the work, 140 with this, each worker a quarter. A new
    connection is the accepting worker's choice again, and an idle worker takes it
    first. It costs one TCP connect per request from the proxy (loopback or the
    cluster's network: tens of microseconds); clients keep theirs alive to the proxy.
    No idle connection is ever closed under a proxy, so no 502 race either.
forwarded_allow_ips = FORWARDED_ALLOW_IPS (default: nobody). Which X-Forwarded-*
    headers count is decided in one place, the app's ProxyFix, by TRUSTED_PROXIES (the
    number of proxies in front). gunicorn itself trusts no peer's headers, so a request
    that reaches it directly cannot claim https or another host; ProxyFix rebuilds the
    URL Twilio signed from the proxy's X-Forwarded-Proto/Host (see README, "Running in
    production"). Set it only if you move that decision to gunicorn.
worker_tmp_dir (/dev/shm when it exists): the workers' heartbeat files live in memory;
    on a container's overlay filesystem the heartbeat's fchmod can block a worker.
limit_request_line (8190, gunicorn's maximum) and limit_request_field_size (16 KiB): a long
    filter or a big bearer token fits; beyond, gunicorn refuses with 414/431, answered as
    JSON like every other error (gunicorn_errors.py, installed in each worker by post_fork).
control_socket_disable: no gunicornc socket. Its default path is one per user
    ($HOME/.gunicorn/gunicorn.ctl), so two servers of one user (tests, benchmarks) would
    fight over it; signals (TERM, HUP, TTIN/TTOU) do what we need.
"""

import os

from opsbackend import gunicorn_errors, metrics

workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("WEB_THREADS") or 4)
worker_class = "gthread"
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
graceful_timeout = 20
keepalive = 0  # see above: one request per connection
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
limit_request_line = 8190
limit_request_field_size = 16384
control_socket_disable = True
accesslog = None  # the app logs each request as one JSON line
errorlog = "-"


def child_exit(_server, worker):
    """A dead worker's live gauges leave the metrics (prometheus multiprocess mode)."""
    metrics.worker_exited(worker.pid)


def post_fork(_server, _worker):
    """gunicorn's own 400/414/431 answers come back as JSON, not HTML."""
    gunicorn_errors.install()
