"""gunicorn's own refusals (a request line or headers too large, a malformed request) answered
as JSON like every other error of the API, instead of gunicorn's HTML page.

gunicorn writes them with ``gunicorn.util.write_error`` before the app ever sees the request;
``install()`` (from ``post_fork`` in gunicorn.conf.py) replaces it in each worker.
"""

import json

from gunicorn import util


def write_json_error(sock, status_int, reason, mesg):
    body = json.dumps({"code": status_int, "status": reason, "message": mesg}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin1") + body)


def install() -> None:
    util.write_error = write_json_error
