"""Every response the test-suite sees must match the OpenAPI document.

``ContractClient`` is the app's test client (conftest sets ``app.test_client_class``): after
each request to a documented operation it checks that the status is declared for that
operation and that a JSON body matches the declared schema (OpenAPI 3.0: ``nullable``
honoured). A drift between the code and the document fails the test that saw it.

A test that means to send what the document forbids still gets checked responses; one that
must bypass the check (a deliberately broken app) uses ``client.unchecked()``.
"""

import re
from contextlib import contextmanager

from flask.testing import FlaskClient
from jsonschema import Draft4Validator
from werkzeug.exceptions import HTTPException

RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
JSON = re.compile(r"^application/([a-z.+-]*\+)?json$")


class ContractViolation(AssertionError):
    pass


def to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema draft 4: ``nullable: true`` allows null."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: to_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False):
        if "type" in converted:
            types = converted["type"] if isinstance(converted["type"], list) else [
                converted["type"]]
            converted["type"] = [*types, "null"]
            if "enum" in converted:
                converted["enum"] = [*converted["enum"], None]
        elif "$ref" in converted or "allOf" in converted:
            converted = {"anyOf": [{"type": "null"}, converted]}
    return converted


class Document:
    def __init__(self, spec: dict):
        self.spec = spec
        self.components = to_json_schema(spec.get("components", {}))

    def operation(self, path: str, method: str) -> dict | None:
        return self.spec["paths"].get(path, {}).get(method.lower())

    def response(self, operation: dict, status: int) -> dict | None:
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get("default")
        if response and "$ref" in response:
            response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        return response

    def check(self, path: str, method: str, status: int, content_type: str, body) -> None:
        operation = self.operation(path, method)
        if operation is None:
            return
        where = f"{method} {path} -> {status}"
        response = self.response(operation, status)
        if response is None:
            raise ContractViolation(f"{where}: status {status} is not in the document")
        content = response.get("content")
        if not content:
            return
        media = content_type.split(";")[0].strip()
        if media not in content:
            raise ContractViolation(
                f"{where}: Content-Type {media} is not documented ({', '.join(content)})")
        schema = content[media].get("schema")
        if schema is None or not JSON.match(media):
            return
        validator = Draft4Validator({**to_json_schema(schema), "components": self.components})
        errors = sorted(validator.iter_errors(body), key=lambda error: list(error.path))
        if errors:
            details = "; ".join(
                f"{'/'.join(map(str, error.path)) or '(body)'}: {error.message[:200]}"
                for error in errors[:5])
            raise ContractViolation(f"{where}: the body does not match the document: {details}")


def openapi_path(rule: str) -> str:
    return RULE_PARAMETER.sub(r"{\1}", rule)


class ContractClient(FlaskClient):
    checking = True

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if self.checking:
            self._check(response)
        return response

    @contextmanager
    def unchecked(self):
        self.checking = False
        try:
            yield self
        finally:
            self.checking = True

    def _document(self) -> Document:
        app = self.application
        if "contract_document" not in app.extensions:
            with app.app_context(), app.test_request_context():
                api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
                app.extensions["contract_document"] = Document(api.spec.to_dict())
        return app.extensions["contract_document"]

    def _check(self, response) -> None:
        request = response.request
        adapter = self.application.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(request.path, request.method, return_rule=True)
        except HTTPException:
            return  # no route: a 404/405 for a path the document does not have
        body = response.get_json(silent=True) if response.is_json else None
        self._document().check(openapi_path(rule.rule), request.method,
                               response.status_code, response.content_type or "", body)
