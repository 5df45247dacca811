"""Every route declares who may call it; the walk below proves each one refuses the rest."""

from dataclasses import replace

import pytest
from flask.views import MethodView
from sqlalchemy import select

from opsbackend.api.auth import PUBLIC, policy_for
from opsbackend.app import create_app
from opsbackend.domain.registry import tokens
from opsbackend.models import ApiToken
from opsbackend.models.auth import ROLES

EXPECTED_PUBLIC = {
    "static",
    "api-docs.openapi_json",
    "api-docs.openapi_swagger_ui",
    "api_docs_assets.static",
    "health.healthz",
    "health.readyz",
    # Checks its own credential: the scrape token or a staff token (tests/test_metrics.py).
    "metrics.scrape",
    # No bearer token: Twilio's signature is their credential (tests/test_twilio_webhooks.py).
    "twilio_sms.inbound_sms",
    "twilio_status.status_callback",
    "twilio_voice.greeting",
    "twilio_voice.number",
    "twilio_voice.pin",
    "twilio_voice.visit",
    "twilio_voice.action",
    "twilio_voice.alarm",
    "twilio_voice.no_flush",
    "twilio_voice.override",
    # No bearer token: the board's pages check their own sign-in (a session cookie) and
    # role (opsbackend/web/blueprint.py, tests/test_board_sign_in.py).
    *(f"board.{view}" for view in (
        "sign_in", "sign_in_post", "sign_out", "now_page", "now_partial", "suggestions",
        "assign", "unassign", "move", "cancel", "create_extra", "acknowledge", "resolve",
        "callback_done", "evv_clear", "map_page", "patient_page", "plan_page", "plan_create",
        "plan_view", "plan_apply")),
}


def routes(app):
    """(endpoint, method, url) for every route and method in the URL map."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        url = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def undeclared_routes(app):
    with app.app_context():
        return [(e, m) for e, m, _ in routes(app) if policy_for(e, m) is None]


def test_every_route_declares_an_access_policy(app):
    assert undeclared_routes(app) == []


def test_only_the_expected_routes_are_public(app):
    with app.app_context():
        public = {e for e, m, _ in routes(app) if policy_for(e, m) is PUBLIC}
    assert public == EXPECTED_PUBLIC


def test_every_twilio_route_refuses_an_unsigned_request(app, client):
    twilio = [(e, m, url) for e, m, url in routes(app) if e.startswith("twilio_")]

    for endpoint, method, url in twilio:
        response = client.open(url, method=method, data={"From": "+12135550131"})
        assert response.status_code == 403, endpoint
    assert len(twilio) >= 7


def test_every_protected_route_refuses_no_token_and_wrong_roles(app, client, factory):
    tokens = {role: factory.token(role) for role in ROLES}
    checked = 0
    for endpoint, method, url in routes(app):
        with app.app_context():
            policy = policy_for(endpoint, method)
        if policy is PUBLIC:
            continue
        anonymous = client.open(url, method=method)
        assert anonymous.status_code == 401, (endpoint, method)
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        for role in set(ROLES) - policy:
            refused = client.open(
                url, method=method, headers={"Authorization": f"Bearer {tokens[role]}"}
            )
            assert refused.status_code == 403, (endpoint, method, role)
            assert role in refused.json["message"]
        checked += 1
    assert checked >= 20


def test_a_route_without_a_policy_is_caught_and_refused(app, client, auth):
    class Undeclared(MethodView):
        def get(self):
            return {"secret": True}

    app.add_url_rule("/api/v1/undeclared", view_func=Undeclared.as_view("undeclared"))

    assert undeclared_routes(app) == [("undeclared", "GET")]
    response = client.get("/api/v1/undeclared", headers=auth("admin"))
    assert response.status_code == 403
    assert "secret" not in response.json


def test_a_revoked_token_is_refused(client, auth, factory):
    admin = auth("admin")
    site = factory.site()
    issued = client.post("/api/v1/tokens", json={"name": "Kim", "role": "viewer",
                                                 "site_ids": [site.id]}, headers=admin).json
    viewer = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/sites", headers=viewer).status_code == 200

    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin).status_code == 204

    refused = client.get("/api/v1/sites", headers=viewer)
    assert refused.status_code == 401
    assert "revoked" in refused.json["message"]


def test_a_token_revoked_elsewhere_stops_working_when_the_cache_time_runs_out(
    client, auth, database, clock, settings
):
    """Another worker or the CLI revoked it: this worker trusts its cache a few seconds more."""
    viewer = auth("viewer")
    assert client.get("/api/v1/sites", headers=viewer).status_code == 200
    with database.transaction() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.role == "viewer")).one()
        tokens.revoke_token(session, clock, token.id)

    clock.advance(seconds=settings.token_cache_seconds - 1)
    assert client.get("/api/v1/sites", headers=viewer).status_code == 200
    clock.advance(seconds=1)
    assert client.get("/api/v1/sites", headers=viewer).status_code == 401


def test_with_the_token_cache_off_a_revocation_elsewhere_counts_at_once(
    settings, clock, factory
):
    app = create_app(replace(settings, token_cache_seconds=0), clock=clock)
    client = app.test_client()
    viewer = factory.auth_headers("viewer")
    assert client.get("/api/v1/sites", headers=viewer).status_code == 200
    with factory.database.transaction() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.role == "viewer")).one()
        tokens.revoke_token(session, clock, token.id)

    assert client.get("/api/v1/sites", headers=viewer).status_code == 401
    app.extensions["database"].dispose()


def test_tokens_are_stored_only_as_hashes(client, auth, database, factory):
    site = factory.site()
    issued = client.post("/api/v1/tokens", json={"name": "Kim", "role": "nurse",
                                                 "site_ids": [site.id]},
                         headers=auth("admin")).json

    with database.new_session() as session:
        stored = session.get(ApiToken, issued["id"])
    assert issued["token"] not in (stored.token_hash, stored.token_prefix)
    listed = client.get("/api/v1/tokens", headers=auth("admin")).json
    assert all("token" not in item for item in listed["items"])


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not-a-token", "token"])
def test_malformed_or_unknown_credentials_are_a_401(client, header):
    response = client.get("/api/v1/sites", headers={"Authorization": header})

    assert response.status_code == 401


def test_revoking_twice_is_a_409(client, auth, factory):
    admin = auth("admin")
    site = factory.site()
    issued = client.post("/api/v1/tokens", json={"name": "Kim", "role": "viewer",
                                                 "site_ids": [site.id]}, headers=admin).json
    client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin)

    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=admin).status_code == 409
