import json

from sqlalchemy import select

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
    totals = {}
    for role, token in demo.items():
        response = client.get("/api/v1/patients?page_size=1",
                              headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, role
        totals[role] = response.json["total"]
    # The admin is global; the others are CHLA's (site 1) only.
    assert totals == {"admin": 14, "dispatcher": 6, "nurse": 6, "viewer": 6}
    assert "nurse: CHLA; as nurse Rosa Alvarez" in output.splitlines()[0]


def test_the_demo_dispatcher_cannot_reach_chop_and_the_viewer_reads_no_names(app, client,
                                                                            database):
    output = run(app, "seed-demo").output
    demo = {line.split()[0]: line.split()[1] for line in output.splitlines()[1:]}
    with database.new_session() as session:
        chop = session.scalars(select(Site).where(Site.code == "CHOP")).one()
        chop_patient = session.scalars(select(Patient).where(Patient.site_id == chop.id)).first()

    def get(role, url):
        return client.get(url, headers={"Authorization": f"Bearer {demo[role]}"})

    assert get("dispatcher", f"/api/v1/patients/{chop_patient.id}").status_code == 404
    assert get("admin", f"/api/v1/patients/{chop_patient.id}").status_code == 200
    listed = get("viewer", "/api/v1/patients?page_size=200").json["items"]
    assert listed and all(set(p) & {"first_name", "date_of_birth", "home", "contacts"} == set()
                          for p in listed)


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


def test_create_token_prints_a_token_that_authenticates(app, client, database, factory):
    site = factory.site()
    result = run(app, "create-token", "--role", "dispatcher", "--name", "Dana",
                 "--site", str(site.id))
    issued = json.loads(result.output)

    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {issued['token']}"})

    assert response.status_code == 200
    assert issued["site_ids"] == [site.id]
    with database.new_session() as session:
        token = tokens.authenticate(session, issued["token"])
        assert token.role == "dispatcher"
        assert tokens.site_ids_of(session, token.id) == {site.id}


def test_create_token_refuses_a_dispatcher_without_a_site(app, database):
    result = app.test_cli_runner().invoke(
        main, ["create-token", "--role", "dispatcher", "--name", "Dana"])

    assert result.exit_code == 1
    assert "--site" in result.output
    assert "needs at least one site" in result.output
    assert count_rows(database, ApiToken) == 0


def test_create_token_refuses_a_nurse_of_another_site(app, factory):
    site, other = factory.site(), factory.site()
    nurse = factory.nurse(site_id=other.id)
    result = app.test_cli_runner().invoke(main, [
        "create-token", "--role", "nurse", "--name", "Rosa", "--site", str(site.id),
        "--nurse-id", str(nurse.id)])

    assert result.exit_code == 1
    assert "--nurse-id" in result.output


def test_an_admin_token_may_be_global(app, client):
    issued = json.loads(run(app, "create-token", "--role", "admin", "--name", "Root").output)

    assert issued["site_ids"] == []
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/audit-events", headers=headers).status_code == 200


def test_create_token_refuses_an_unknown_role(app):
    result = app.test_cli_runner().invoke(main, ["create-token", "--role", "root", "--name", "x"])

    assert result.exit_code == 2
    assert "root" in result.output


def test_revoke_token_stops_the_token(app, client, factory):
    issued = json.loads(run(app, "create-token", "--role", "viewer", "--name", "Kim",
                            "--site", str(factory.site().id)).output)

    run(app, "revoke-token", str(issued["id"]))

    response = client.get("/api/v1/units", headers={"Authorization": f"Bearer {issued['token']}"})
    assert response.status_code == 401


def test_db_upgrade_reports_head(app):
    assert "database at head" in run(app, "db", "upgrade").output


def test_revoke_token_of_no_token_is_a_clear_error(app):
    missing = app.test_cli_runner().invoke(main, ["revoke-token", "424242"])
    huge = app.test_cli_runner().invoke(main, ["revoke-token", "99999999999"])

    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert huge.exit_code == 2 and "TOKEN_ID" in huge.output


def test_create_token_for_a_site_that_does_not_exist_says_so(app, database):
    result = app.test_cli_runner().invoke(main, [
        "create-token", "--role", "dispatcher", "--name", "Dana", "--site", "4242"])
    huge = app.test_cli_runner().invoke(main, [
        "create-token", "--role", "dispatcher", "--name", "Dana", "--site", "99999999999"])

    assert result.exit_code == 1 and "--site: there is no site 4242" in result.output
    assert huge.exit_code == 2 and "--site" in huge.output
    assert count_rows(database, ApiToken) == 0
