SITE = {
    "code": "CHLA",
    "name": "Children's Hospital Los Angeles",
    "region": "West",
    "timezone": "America/Los_Angeles",
    "on_call_phone": "(310) 555-0100",
}


def test_admin_creates_a_site_with_its_phone_in_e164(client, auth):
    response = client.post("/api/v1/sites", json=SITE, headers=auth("admin"))

    assert response.status_code == 201
    assert response.json["on_call_phone"] == "+13105550100"
    assert response.json["timezone"] == "America/Los_Angeles"
    assert response.json["created_at"].endswith("+00:00")


def test_invalid_site_fields_are_named_in_a_422(client, auth):
    bad = SITE | {"region": "Atlantis", "timezone": "Mars/Olympus", "on_call_phone": "12"}

    response = client.post("/api/v1/sites", json=bad, headers=auth("admin"))

    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"region", "timezone", "on_call_phone"}


def test_a_duplicate_site_code_is_a_409_naming_the_code(client, auth, factory):
    factory.site(code="CHLA")

    response = client.post("/api/v1/sites", json=SITE, headers=auth("admin"))

    assert response.status_code == 409
    assert "code" in response.json["errors"]["json"]


def test_sites_list_paginates_and_filters_by_region(client, auth, factory):
    for _ in range(3):
        factory.site(region="West")
    factory.site(region="South")
    headers = auth("viewer")

    first = client.get("/api/v1/sites?page_size=2&region=West", headers=headers).json
    second = client.get("/api/v1/sites?page_size=2&page=2&region=West", headers=headers).json

    assert first["total"] == 3 and len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert {item["region"] for item in first["items"] + second["items"]} == {"West"}


def test_every_page_reports_the_same_total_whether_full_partial_or_past_the_end(
        client, auth, factory):
    for _ in range(5):
        factory.site(region="Midwest")
    headers = auth("viewer")

    totals = [client.get(f"/api/v1/sites?page_size=2&page={page}&region=Midwest",
                         headers=headers).json for page in (1, 2, 3, 4)]

    assert [page["total"] for page in totals] == [5, 5, 5, 5]
    assert [len(page["items"]) for page in totals] == [2, 2, 1, 0]


def test_page_size_over_the_limit_is_a_422(client, auth):
    response = client.get("/api/v1/sites?page_size=1000", headers=auth("viewer"))

    assert response.status_code == 422
    assert "page_size" in response.json["errors"]["query"]


def test_patch_changes_only_the_given_fields(client, auth, factory):
    site = factory.site(name="Old name")

    response = client.patch(
        f"/api/v1/sites/{site.id}", json={"name": "New name"}, headers=auth("admin")
    )

    assert response.status_code == 200
    assert response.json["name"] == "New name"
    assert response.json["code"] == site.code


def test_unknown_site_is_a_json_404(client, auth):
    response = client.get("/api/v1/sites/999", headers=auth("viewer"))

    assert response.status_code == 404
    assert response.json["message"] == "Site 999 does not exist"
