"""Signing in to the board: passwords, the session cookie, CSRF, lockout, sign-out."""

import json

from sqlalchemy import select

from opsbackend.cli import main
from opsbackend.domain.registry import users
from opsbackend.models import UserAccount, UserAccountSite
from tests.board_helpers import PASSWORD, board_user, csrf_token, sign_in
from tests.factories import count_rows


def test_the_board_sends_a_visitor_who_is_not_signed_in_to_the_sign_in_form(client):
    response = client.get("/board")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/board/sign-in?next=/board")
    form = client.get("/board/sign-in").get_data(as_text=True)
    assert 'name="email"' in form and 'name="password"' in form and 'name="csrf_token"' in form


def test_a_right_password_signs_in_with_an_http_only_lax_cookie(client, database, factory):
    board_user(database, site_ids=[factory.site().id])

    response = sign_in(client)

    assert response.status_code == 302 and response.headers["Location"] == "/board"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/board").status_code == 200


def test_the_session_cookie_is_secure_over_https(app, database, factory):
    board_user(database, site_ids=[factory.site().id])
    client = app.test_client()
    token = csrf_token(client, "https://localhost/board/sign-in")

    # Over https Flask-WTF also wants a same-origin Referer (as browsers send).
    response = client.post("https://localhost/board/sign-in", data={
        "email": "dana@example.org", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/board/sign-in"})

    assert response.status_code == 302
    assert "; Secure" in response.headers["Set-Cookie"]


def test_a_wrong_password_is_refused_and_signs_nobody_in(client, database, factory):
    board_user(database, site_ids=[factory.site().id])

    response = sign_in(client, password="wrong password here")

    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)
    assert client.get("/board").status_code == 302


def test_a_sign_in_without_the_csrf_token_is_refused(client, database, factory):
    board_user(database, site_ids=[factory.site().id])
    client.get("/board/sign-in")

    response = client.post("/board/sign-in", data={"email": "dana@example.org",
                                                   "password": PASSWORD})

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert client.get("/board").status_code == 302


def test_a_board_action_without_the_csrf_token_is_refused(client, database, factory):
    board_user(database, site_ids=[factory.site().id])
    sign_in(client)

    response = client.post("/board/sign-out", headers={"HX-Request": "true"})

    assert response.status_code == 400
    assert client.get("/board").status_code == 200  # still signed in


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(
        client, database, factory, clock):
    board_user(database, site_ids=[factory.site().id])
    for _ in range(users.MAX_FAILED_SIGN_INS):
        sign_in(client, password="a wrong guess again")

    locked = sign_in(client)

    assert locked.status_code == 401
    assert "locked" in locked.get_data(as_text=True)
    clock.advance(seconds=users.LOCKOUT.total_seconds() + 1)
    assert sign_in(client).status_code == 302


def test_a_good_password_clears_the_count_of_wrong_ones(client, database, factory):
    board_user(database, site_ids=[factory.site().id])
    for _ in range(users.MAX_FAILED_SIGN_INS - 1):
        sign_in(client, password="a wrong guess again")
    assert sign_in(client).status_code == 302
    client.post("/board/sign-out", data={"csrf_token": csrf_token(client, "/board")})

    assert sign_in(client, password="one more wrong one").status_code == 401
    assert sign_in(client).status_code == 302


def test_sign_out_ends_the_session(client, database, factory):
    board_user(database, site_ids=[factory.site().id])
    sign_in(client)

    response = client.post("/board/sign-out", data={"csrf_token": csrf_token(client, "/board")})

    assert response.status_code == 302
    assert client.get("/board").status_code == 302


def test_the_password_is_stored_only_as_a_scrypt_hash(database, factory):
    board_user(database, site_ids=[factory.site().id])

    with database.new_session() as session:
        stored = session.scalars(select(UserAccount)).one().password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_create_user_reads_the_password_from_the_environment(app, database, factory,
                                                             monkeypatch):
    site = factory.site()
    monkeypatch.setenv("OPSBACKEND_PASSWORD", PASSWORD)

    result = app.test_cli_runner().invoke(main, [
        "create-user", "--email", "Rae@Example.org", "--role", "dispatcher",
        "--site", str(site.id)], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"id": 1, "email": "rae@example.org",
                                         "role": "dispatcher", "site_ids": [site.id]}
    assert count_rows(database, UserAccountSite) == 1
    assert sign_in(app.test_client(), "rae@example.org").status_code == 302


def test_create_user_refuses_a_dispatcher_without_a_site_and_a_short_password(
        app, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setenv("OPSBACKEND_PASSWORD", PASSWORD)
    no_site = runner.invoke(main, ["create-user", "--email", "a@example.org",
                                   "--role", "dispatcher"])
    monkeypatch.setenv("OPSBACKEND_PASSWORD", "short")
    short = runner.invoke(main, ["create-user", "--email", "b@example.org", "--role", "admin"])

    assert no_site.exit_code != 0 and "at least one site" in no_site.output
    assert short.exit_code != 0 and "at least 12 characters" in short.output


def test_the_demo_sign_ins_printed_after_seed_demo_work(app):
    runner = app.test_cli_runner()
    runner.invoke(main, ["seed-demo"], catch_exceptions=False)
    output = runner.invoke(main, ["demo-sign-ins"], catch_exceptions=False).output
    demo = dict(line.split()[:2] for line in output.splitlines()[1:])

    assert set(demo) == {"dispatcher@example.org", "admin@example.org"}
    assert "dispatcher: CHLA, CHOP" in output and "admin: every site" in output
    for email, password in demo.items():
        assert sign_in(app.test_client(), email, password).status_code == 302, email


def test_every_board_page_and_action_sends_a_visitor_who_is_not_signed_in_away(app, client):
    from tests.test_access_policy import routes

    token = csrf_token(client)
    refused = {}
    for endpoint, method, url in routes(app):
        if not endpoint.startswith("board.") or endpoint.startswith("board.sign_in"):
            continue
        response = client.open(url, method=method, data={"csrf_token": token})
        refused[endpoint] = (response.status_code,
                             response.headers.get("Location", "").split("?")[0])

    assert refused and set(refused.values()) == {(302, "/board/sign-in")}
