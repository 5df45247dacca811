import json

from opsbackend.cli import main
from opsbackend.domain.registry import tokens
from opsbackend.models import ApiToken, Nurse, Patient, Site, Unit
from tests.factories import count_rows


def run(app, *args):
    result = app.test_cli_runner().invoke(main, list(args), catch_exceptions=False)
    return result


def test_seed_demo_loads_the_demo_once(app, database):
    first = run(app, "seed-demo")
    counts = [count_rows(database, m) for m in (Site, Patient, Nurse, Unit, ApiToken)]
    second = run(app, "seed-demo")

    assert first.exit_code == 0 and second.exit_code == 0
    assert counts == [2, 14, 6, 3, 4]
    assert [count_rows(database, m) for m in (Site, Patient, Nurse, Unit, ApiToken)] == counts
    assert first.output == second.output  # the same tokens each time


def test_seed_demo_prints_a_working_token_per_role(app, client):
    output = run(app, "seed-demo").output
    demo = {line.split()[0]: line.split()[1] for line in output.splitlines()[1:]}

    assert set(demo) == {"admin", "dispatcher", "nurse", "viewer"}
    for role, token in demo.items():
        response = client.get("/api/v1/patients?page_size=1",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, role
        assert response.json["total"] == 14


def test_seed_demo_has_an_infant_a_spanish_contact_and_several_bag_intervals(app, database):
    from sqlalchemy import select

    from opsbackend.domain.registry.patients import is_infant
    from opsbackend.models import Contact, Course

    run(app, "seed-demo")
    with database.new_session() as session:
        today = database.clock.now().date()
        infants = [p for p in session.scalars(select(Patient)) if is_infant(p, today)]
        spanish = session.scalars(select(Contact).where(Contact.language == "es")).all()
        intervals = set(session.scalars(select(Course.bag_interval_hours)))
        active = session.scalars(select(Course).where(Course.status == "active")).all()
    assert len(infants) == 1
    assert spanish
    assert intervals == {24, 48, 72, 96, 168}
    assert len(active) == 10


def test_create_token_prints_a_token_that_authenticates(app, client, database):
    result = run(app, "create-token", "--role", "dispatcher", "--name", "Dana")
    issued = json.loads(result.output)

    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {issued['token']}"})

    assert response.status_code == 200
    with database.new_session() as session:
        assert tokens.authenticate(session, issued["token"]).role == "dispatcher"


def test_create_token_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(main, ["create-token", "--role", "root", "--name", "x"])

    assert result.exit_code == 2
    assert "root" in result.output


def test_revoke_token_stops_the_token(app, client):
    issued = json.loads(run(app, "create-token", "--role", "viewer", "--name", "Kim").output)

    run(app, "revoke-token", str(issued["id"]))

    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {issued['token']}"})
    assert response.status_code == 401


def test_db_upgrade_reports_head(app):
    assert "database at head" in run(app, "db", "upgrade").output
