from opsbackend.app import create_app
from opsbackend.config import Settings


def test_healthz_answers_without_a_token(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json["database"] == "ok"


def test_readyz_is_a_503_when_the_database_is_unreachable():
    settings = Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = create_app(settings).test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
