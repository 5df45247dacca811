def test_the_openapi_document_describes_every_resource(client):
    spec = client.get("/api/v1/openapi.json").json

    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/sites", "/api/v1/patients/{patient_id}", "/api/v1/nurses",
                 "/api/v1/units", "/api/v1/courses", "/api/v1/tokens", "/api/v1/audit-events"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_operation_documents_its_roles(client):
    spec = client.get("/api/v1/openapi.json").json

    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "patch", "put", "delete"}
    ]
    assert operations
    assert [(p, m) for p, m, op in operations if "admin" not in op.get("x-roles", [])] == []


def test_the_docs_page_loads_its_assets_locally(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)

    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/v1/docs/assets/{asset}" in page
        assert client.get(f"/api/v1/docs/assets/{asset}").status_code == 200
