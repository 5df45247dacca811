"""The board's blueprint, its sign-in check and its CSRF check."""

import functools

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask_wtf.csrf import CSRFError

from opsbackend.api import context
from opsbackend.api.auth import PUBLIC
from opsbackend.api.field_visibility import sees_phi
from opsbackend.api.fields import MAX_ID, storable
from opsbackend.domain.registry import users

blp = Blueprint("board", __name__, url_prefix="/board")

# Who may open a page, for ``signed_in`` (admins always may).
EVERYONE = ("dispatcher", "nurse", "viewer")
STAFF = ("dispatcher", "nurse")
DISPATCHERS = ("dispatcher",)


@blp.before_request
def refuse_unstorable_values():
    """The board reads its forms by hand, not through the API's fields: a value the
    database cannot hold (a NUL, a lone surrogate, an id past the integer columns) is a
    400 here, never a 500 from the database."""
    for name, value in [*request.args.items(multi=True), *request.form.items(multi=True)]:
        if not storable(value) or (_names_an_id(name) and not _fits_an_id(value)):
            return render_template("board/refused.html",
                                   reason=f"{name} holds a value that cannot be stored"), 400
    return None


def _names_an_id(name: str) -> bool:
    return name.endswith("_id") or name in ("visit", "site")


def _fits_an_id(value: str) -> bool:
    # isdecimal, not isdigit: int() reads every decimal digit ("٣") but not "¹".
    digits = value.strip().upper().removeprefix("A")
    return not digits.isdecimal() or int(digits) <= MAX_ID


@blp.before_request
def check_csrf():
    """Every form and htmx POST carries the session's CSRF token (field or header)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        from opsbackend.web import csrf

        csrf.protect()


@blp.errorhandler(CSRFError)
def csrf_refused(error):
    return render_template("board/refused.html", reason=error.description), 400


def signed_in(*roles: str):
    """The view needs a signed-in user of one of ``roles`` (admins always may).

    No API token is asked for (the token policy is PUBLIC): the session cookie is checked
    here instead, and the user's role and sites become the request's ``Scope``."""
    allowed = frozenset(roles) | {"admin"}

    def mark(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.headers.get("HX-Request"):
                    return "", 401, {"HX-Redirect": url_for("board.sign_in")}
                return redirect(url_for("board.sign_in", next=request.full_path.rstrip("?")))
            if user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        checked.access_policy = PUBLIC
        checked.board_roles = allowed
        return checked

    return mark


@blp.context_processor
def what_the_user_may_see():
    """For the templates: ``may_open(endpoint)``, by the roles the view itself declares
    (a link only to a page the user may open), and ``sees_names``: a viewer reads study
    codes, times and states, no one's name nor a home's area, as in the API."""
    user = g.get("user")

    def may_open(endpoint: str) -> bool:
        view = current_app.view_functions[endpoint]
        return user is not None and user.role in view.board_roles

    return {"may_open": may_open, "sees_names": user is not None and sees_phi(user.role)}


def current_user():
    """The signed-in user (read once per request), with ``g.scope`` set from it."""
    if "user" in g:
        return g.user
    user_id = cookie.get("user_id")
    session = context.session()
    g.user = users.active_user(session, user_id) if isinstance(user_id, int) else None
    if g.user is not None:
        g.scope = users.scope_of(session, g.user)
        current_app.extensions["database"].label(
            session, actor=f"user:{g.user.id}:{g.user.email}", request_id=g.request_id)
    return g.user


def public(view):
    view.access_policy = PUBLIC
    return view
