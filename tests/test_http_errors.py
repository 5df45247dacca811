"""Every error is JSON with a code and a status, never an HTML page."""


def test_malformed_json_is_a_400(client, auth):
    response = client.post("/api/v1/sites", data="{not json", content_type="application/json",
                           headers=auth("admin"))

    assert response.status_code == 400
    assert response.json["code"] == 400


def test_unknown_fields_are_rejected_by_name(client, auth):
    response = client.post("/api/v1/nurses",
                           json={"name": "A", "phone": "+12135550131", "salary": 1},
                           headers=auth("admin"))

    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"salary": ["Unknown field."]}


def test_a_body_over_the_limit_is_a_413(client, auth, app):
    limit = app.config["MAX_CONTENT_LENGTH"]

    response = client.post("/api/v1/sites", json={"name": "x" * limit}, headers=auth("admin"))

    assert response.status_code == 413
    assert response.json["status"] == "Request Entity Too Large"


def test_an_unknown_route_is_a_json_404(client):
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.is_json


def test_a_wrong_method_is_a_405_with_allow(client, auth):
    response = client.delete("/api/v1/sites", headers=auth("admin"))

    assert response.status_code == 405
    assert {"GET", "POST"} <= set(response.headers["Allow"].replace(" ", "").split(","))


def test_an_unexpected_failure_is_a_json_500(app, client):
    from opsbackend.api.auth import public

    @public
    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/explode", view_func=explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    response = client.get("/explode")

    assert response.status_code == 500
    assert response.json == {"code": 500, "status": "Internal Server Error"}


def test_every_response_carries_a_request_id(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc-1"})
    made_up = client.get("/healthz", headers={"X-Request-ID": "<script>"})

    assert given.headers["X-Request-ID"] == "abc-1"
    assert len(made_up.headers["X-Request-ID"]) == 32
