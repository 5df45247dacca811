"""Errors a domain rule raises; the HTTP layer maps each to its status code."""


class DomainError(Exception):
    """``message`` is English for the API; ``reason`` and ``params``, when given, let a
    phone reply say the same in the nurse's language (``templates.refusal``)."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None, *, reason: str | None = None,
                 **params):
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason
        self.params = params


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The request is valid but clashes with the current state (409)."""

    status_code = 409


class Invalid(DomainError):
    """A value is well-formed but not acceptable (422), e.g. an unknown site id."""

    status_code = 422


class Forbidden(DomainError):
    """The caller may not do this to this record, though they may see it (403)."""

    status_code = 403
