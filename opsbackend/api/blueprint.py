"""flask-smorest's Blueprint, building each argument schema once instead of per request,
refusing bodies it cannot read with a JSON 400/415 and marking the query parameters each
view takes (``query_parameters.py``)."""

import json
from http import HTTPStatus

import flask_smorest
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser

from opsbackend.api import document, fields, query_parameters


class JsonBodyParser(FlaskParser):
    """webargs' parser, answering every unreadable body with a 4xx instead of a 500."""

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not core.is_json(req.mimetype):
            if body:
                abort(415, message="send the body as JSON (Content-Type: application/json)")
            return core.missing
        try:
            return core.parse_json(body)
        except json.JSONDecodeError:
            raise
        except RecursionError:
            abort(400, message="the JSON body is nested too deeply",
                  errors={"json": ["Nested too deeply."]})
        except ValueError:
            # e.g. an integer literal of thousands of digits (Python's int limit)
            abort(400, message="the JSON body holds a value that cannot be read",
                  errors={"json": ["Invalid JSON body."]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonBodyParser()

    def arguments(self, schema, *args, **kwargs):
        # Given a schema class, webargs builds a new instance on every request, and that
        # instance builds its nested schemas again: about a millisecond of CPU per request.
        # Schemas keep no state between loads, so one instance serves every request.
        if isinstance(schema, type):
            schema = schema()
        if kwargs.get("location") in ("query", "path", "headers", "form"):
            fields.read_from_text(schema)
        if kwargs.get("location", "json") == "json" and "required" not in kwargs:
            # A body whose fields are all optional (a PATCH, a cancel with an optional
            # reason) may be left out: the document says so instead of claiming otherwise.
            kwargs["required"] = schema.partial is not True and any(
                field.required for field in schema.fields.values())
        decorate = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location") != "query":
            return decorate

        def decorate_and_mark(view):
            wrapped = decorate(view)
            query_parameters.mark(wrapped, schema)
            return wrapped

        return decorate_and_mark

    def also_as(self, status: int, content_type: str, description: str):
        """Declare another content type of a response (CSV, GeoJSON, chosen by Accept) beside
        the JSON one. (``alt_response`` with the same status would replace the JSON one.)"""
        schema = {"type": "object" if content_type.endswith("json") else "string",
                  "description": description}

        def decorate(view):
            view._apidoc = getattr(view, "_apidoc", {})
            manual = view._apidoc.setdefault("manual_doc", {})
            # Merged into the response by document.py once flask-smorest has built it.
            also = manual.setdefault(document.ALSO_AS, {}).setdefault(str(status), {})
            also[content_type] = {"schema": schema}
            return view

        return decorate

    def errors(self, *codes: int):
        """Declare the error statuses an operation answers besides 422 (and the default)."""

        def decorate(view):
            for code in codes:
                view = self.alt_response(code, response=HTTPStatus(code).name)(view)
            return view

        return decorate

