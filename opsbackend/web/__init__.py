"""The dispatcher board: server-rendered pages for people who sign in with a password.

The API answers tokens; the board answers a signed session cookie. Both act through the
same domain functions with the same ``Scope``.
"""

from datetime import timedelta

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from opsbackend.web import formatting

csrf = CSRFProtect()


class BoardSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when the request came over https (``ProxyFix`` makes
    ``request.is_secure`` see the proxy's scheme), and always when configured so."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_web(app: Flask) -> None:
    from opsbackend.web import board, pages, sign_in  # noqa: F401  (views join the blueprint)
    from opsbackend.web.blueprint import blp

    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="opsbackend_session",
        # The API and the phone webhooks carry no session: only the board's forms and
        # htmx requests are checked (``blueprint.check_csrf``).
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # a working day, then sign in again
    )
    app.session_interface = BoardSessionInterface()
    csrf.init_app(app)
    formatting.install(app)
    app.register_blueprint(blp)
