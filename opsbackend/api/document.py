"""The OpenAPI document declares every error an operation can answer, not just the happy path.

flask-smorest documents the success response and a 422 for operations with arguments; the
rest comes from code every request goes through, so it is declared here for every operation
after the blueprints are registered (an operation's own declaration is kept):

- 400: a malformed or unreadable body, an unknown query parameter, a domain refusal;
- 401/403: the bearer token and its role (``auth.py``), unless the operation is public;
- 404: an id in the path, or a record the request names, that does not exist;
- 409: the request clashes with the current state (writes only);
- 413/415: a body too large or not JSON (operations with a body);
- 422: a value the schema or a business rule refuses;
- 503: the database went away mid-request (``errors.py``);
- 414/431: gunicorn refuses a request line or headers too large (``gunicorn_errors.py``).
"""

from http import HTTPStatus

# An operation's other content types (``Blueprint.also_as``), merged into its responses here.
ALSO_AS = "x-also-as"
WRITES = {"post", "put", "patch", "delete"}
METHODS = {"get", "head", "post", "put", "patch", "delete"}


def error_statuses(method: str, operation: dict) -> list[HTTPStatus]:
    statuses = [HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND,
                HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.SERVICE_UNAVAILABLE,
                HTTPStatus.REQUEST_URI_TOO_LONG, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE]
    if operation.get("security") != []:
        statuses += [HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN]
    if method in WRITES:
        statuses.append(HTTPStatus.CONFLICT)
    if "requestBody" in operation:
        statuses += [HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE]
    return sorted(statuses)


def declare_error_responses(spec) -> None:
    for path_item in spec._paths.values():  # apispec keeps no public accessor to edit paths
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, contents in operation.pop(ALSO_AS, {}).items():
                responses[status].setdefault("content", {}).update(contents)
            own = _own_error_content(responses)
            for status in error_statuses(method, operation):
                if str(status.value) in responses or status.value in responses:
                    continue
                if own is None:
                    responses[str(status.value)] = spec.components.get_ref(
                        "response", status.name)
                else:
                    responses[str(status.value)] = {"description": status.phrase,
                                                    "content": dict(own)}
            if own is not None:
                _also_plain_json(spec, responses)


def _own_error_content(responses: dict) -> dict | None:
    """An operation answering its errors in its own format (FHIR's OperationOutcome)."""
    for status, response in responses.items():
        content = response.get("content", {}) if isinstance(response, dict) else {}
        if str(status)[0] == "4" and content and "application/json" not in content:
            return content
    return None


def _also_plain_json(spec, responses: dict) -> None:
    """A path the router cannot match (an id out of range) is answered by the app, in the
    API's JSON error format, before the operation's own error handler is reached."""
    error = {"schema": spec.components.get_ref("schema", "Error")}
    for status, response in responses.items():
        content = response.get("content") if isinstance(response, dict) else None
        if str(status)[0] == "4" and content is not None:
            content.setdefault("application/json", error)
