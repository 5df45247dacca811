"""Sign-in and sign-out of the board."""

from flask import redirect, render_template, request, url_for
from flask import session as cookie

from opsbackend.api import context
from opsbackend.domain.registry import users
from opsbackend.web.blueprint import blp, public, signed_in
from opsbackend.web.blueprint import current_user as _current_user

WRONG = "Wrong email or password."
LOCKED = (f"Too many wrong passwords: sign-in is locked for "
          f"{int(users.LOCKOUT.total_seconds() // 60)} minutes. Ask an admin if you need in now.")


@blp.route("/sign-in", methods=["GET"])
@public
def sign_in():
    if _current_user() is not None:
        return redirect(url_for("board.now_page"))
    return render_template("board/sign_in.html", next=_safe_next(request.args.get("next")))


@blp.route("/sign-in", methods=["POST"])
@public
def sign_in_post():
    email = request.form.get("email", "")
    password = request.form.get("password", "")
    outcome = users.sign_in(context.session(), context.clock(), email, password)
    context.commit()  # a wrong password counts toward the lockout
    if outcome.user is None:
        return render_template("board/sign_in.html", error=LOCKED if outcome.locked else WRONG,
                               email=email, next=_safe_next(request.form.get("next"))), 401
    # A new session on sign-in: nothing from before (a planted cookie) carries over.
    cookie.clear()
    cookie["user_id"] = outcome.user.id
    cookie.permanent = True
    return redirect(_safe_next(request.form.get("next")) or url_for("board.now_page"))


@blp.route("/sign-out", methods=["POST"])
@signed_in("dispatcher", "nurse", "viewer")
def sign_out():
    cookie.clear()
    return redirect(url_for("board.sign_in"))


def _safe_next(target: str | None) -> str | None:
    """Only a page of the board itself: never another host (an open redirect)."""
    if target and target.startswith("/board") and "//" not in target and "\\" not in target:
        return target
    return None
