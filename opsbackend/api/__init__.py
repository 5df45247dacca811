"""The JSON API under /api/v1, described by /api/v1/openapi.json (docs at /api/v1/docs)."""

import swagger_ui_bundle
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema
from werkzeug.routing import IntegerConverter

from opsbackend.api import (
    alerts,
    audit,
    callbacks,
    courses,
    custody,
    deviations,
    dispatch,
    document,
    errors,
    escalation,
    evv,
    fhir,
    field_visibility,
    fields,
    infusion,
    jobs,
    messages,
    nurses,
    patients,
    planning,
    plans,
    reports,
    sites,
    skill_rules,
    timeline,
    tokens,
    units,
    visits,
    webhooks,
)

BLUEPRINTS = (
    sites.blp,
    patients.blp,
    nurses.blp,
    units.blp,
    courses.blp,
    infusion.blp,
    custody.blp,
    visits.blp,
    dispatch.blp,
    plans.blp,
    planning.blp,
    deviations.blp,
    timeline.blp,
    skill_rules.blp,
    alerts.blp,
    callbacks.blp,
    messages.blp,
    evv.blp,
    escalation.blp,
    jobs.blp,
    reports.blp,
    tokens.blp,
    audit.blp,
    webhooks.blp,
    fhir.blp,
)


class JsonApi(Api):
    """flask-smorest's Api, keeping the headers werkzeug puts on an error (``Allow`` on 405)."""

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        merged = dict(error.get_headers())
        merged.pop("Content-Type", None)
        merged.update(headers or {})
        return payload, code, merged


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id PostgreSQL's ``integer`` can hold, 1..2^31-1.
    A bigger one is simply not found (404) instead of an error in the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", fields.MAX_ID)
        super().__init__(map, *args, **kwargs)


def schema_name(schema) -> str:
    """Name partial (PATCH) schemas apart from the full ones in the OpenAPI document."""
    cls = schema if isinstance(schema, type) else type(schema)
    label = cls.__name__.removesuffix("Schema")
    if getattr(schema, "partial", False):
        label += "Patch"
    if getattr(schema, "many", False):
        label += "List"
    return label


def init_api(app) -> Api:
    app.config.update(
        API_TITLE="opsbackend",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        # Swagger UI's files come from a package, so the docs work offline.
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": (
                "Operations backend for mobile home-infusion units. Each operation lists "
                "the roles that may call it (x-roles) and how it finds the site it touches "
                "(x-sites, x-sites-rule): a token acts only for its sites. Fields marked "
                "x-visible-to are left out of the responses of every other role (a viewer "
                "reads no names, dates of birth, addresses, coordinates or phones).")},
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    app.url_map.converters["int"] = RecordIdConverter
    api = JsonApi(
        app,
        spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)},
    )
    field_visibility.mark_phi_fields()
    api.register_converter(RecordIdConverter, integerconverter2paramschema)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    document.declare_error_responses(api.spec)
    field_visibility.not_required_of_viewers(api.spec)
    app.register_blueprint(
        Blueprint(
            "api_docs_assets",
            __name__,
            static_folder=swagger_ui_bundle.swagger_ui_path,
            static_url_path="/api/v1/docs/assets",
        )
    )
    errors.register(app)
    return api
