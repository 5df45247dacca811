"""``/metrics`` of a scheduler process (``opsbackend scheduler --metrics-port``): its job
runs, leader changes, alerts raised and first-SMS delays, behind the same credentials as
the web's. The database's figures are the web's to show (counted once). ``/healthz``
answers 503 when this process's scheduler has stopped ticking (the container's
health check)."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

from opsbackend import metrics


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args):
        pass


def metrics_app(database, settings, healthy=lambda: True):
    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            if healthy():
                return _reply(start_response, "200 OK", b'{"status": "ok"}\n')
            return _reply(start_response, "503 Service Unavailable",
                          b'{"status": "the scheduler stopped ticking"}\n')
        if environ.get("PATH_INFO") != "/metrics":
            return _reply(start_response, "404 Not Found", b"not found\n")
        with database.new_session(actor="metrics") as session:
            allowed = metrics.scrape_allowed(session, settings.metrics_token,
                                             environ.get("HTTP_AUTHORIZATION", ""))
        if allowed is None:
            return _reply(start_response, "401 Unauthorized", b"send the scrape token\n",
                          [("WWW-Authenticate", 'Bearer realm="opsbackend"')])
        if not allowed:
            return _reply(start_response, "403 Forbidden", b"not for this token\n")
        body, content_type = metrics.exposition()
        return _reply(start_response, "200 OK", body, content_type=content_type)

    return app


def serve_metrics(database, settings, host: str, port: int, healthy=lambda: True):
    """In a daemon thread; returns the server (``shutdown()`` stops it)."""
    server = make_server(host, port, metrics_app(database, settings, healthy),
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server


def _reply(start_response, status: str, body: bytes, headers=(),
           content_type: str = "text/plain; charset=utf-8"):
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body))), *headers])
    return [body]
