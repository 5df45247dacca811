"""What Twilio posts to our webhooks, read as values the database can hold.

The signature is checked over the fields as they were sent (``signatures``); past it, a
handler reads them from here: text without NUL (which PostgreSQL's text refuses, even
as a query parameter), and record ids only when a column could hold them. A hostile or
garbled delivery is then answered, never a 500.
"""

from flask import request

from opsbackend.api.fields import MAX_ID

# Twilio's SIDs are 34 characters; our columns hold 64.
SID_LENGTH = 64


def form_text(name: str, default: str = "") -> str:
    """A posted field, a NUL in it replaced by U+FFFD (the character for "unreadable")."""
    return request.form.get(name, default).replace("\x00", "\ufffd")


def sid(*names: str) -> str | None:
    """The first of these SID fields that was posted, cut to what the column holds."""
    for name in names:
        if value := form_text(name):
            return value[:SID_LENGTH]
    return None


def record_id(keys: str) -> int | None:
    """The record id in ``keys`` (a visit code or a nurse number keyed in, an id in one of
    our step URLs), or None when no record could have it: not ASCII digits, or past what
    an id column holds (a keypad takes any length)."""
    if not (keys.isascii() and keys.isdigit()):
        return None
    number = int(keys)
    return number if 1 <= number <= MAX_ID else None


def arg_id(name: str) -> int | None:
    """A record id from the query string (ours: the URLs we hand Twilio carry them)."""
    return record_id(request.args.get(name, ""))
