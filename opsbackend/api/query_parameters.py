"""Unknown query parameters are a 400 naming them: a misspelled ``stauts=active`` must not
quietly return every record.

``Blueprint.arguments(..., location="query")`` marks the view with the names its schema
reads; ``refuse_unknown_query_parameters`` (a ``before_request``) compares the request's
parameters with them. A view without a query schema takes no parameters at all.
"""

from flask import current_app, request
from flask_smorest import abort

from opsbackend.api.errors import error_body

API_PREFIX = "/api/v1/"
# The document and its viewer belong to flask-smorest and take no parameters we check.
UNCHECKED_ENDPOINT_PREFIXES = ("api-docs.", "api_docs_assets.")


def query_names(schema) -> frozenset[str]:
    """The parameter names a query schema reads (``data_key`` where one is given)."""
    return frozenset(
        field.data_key or name for name, field in schema.fields.items() if not field.dump_only
    )


def mark(view, schema) -> None:
    view.query_parameters = getattr(view, "query_parameters", frozenset()) | query_names(schema)


def declared_for(endpoint: str, method: str) -> frozenset[str]:
    view = current_app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, "get" if method == "HEAD" else method.lower(), None)
    return getattr(view, "query_parameters", frozenset())


def refuse_unknown_query_parameters():
    if (not request.args or request.endpoint is None or request.method == "OPTIONS"
            or not request.path.startswith(API_PREFIX)
            or request.endpoint.startswith(UNCHECKED_ENDPOINT_PREFIXES)):
        return None
    unknown = sorted(set(request.args) - declared_for(request.endpoint, request.method))
    if not unknown:
        return None
    message = f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
    body = error_body(400, message)
    body["errors"] = {"query": {name: ["Unknown query parameter."] for name in unknown}}
    abort(400, message=message, errors=body["errors"])
