"""Reports: the coverage picture of where homecare is missing (JSON, CSV, GeoJSON map layer)."""

import csv
import io

from flask import Response, request
from flask.views import MethodView
from marshmallow import validate
from sqlalchemy import select

from opsbackend.api import context, field_visibility, fields
from opsbackend.api.auth import EVERYONE, allow
from opsbackend.api.blueprint import Blueprint
from opsbackend.api.field_visibility import Schema
from opsbackend.api.fields import PatientArea
from opsbackend.api.site_policy import LISTING
from opsbackend.domain.dispatch.coverage import coverage
from opsbackend.models import Home, Patient, Unit

blp = Blueprint("reports", __name__, url_prefix="/api/v1/reports",
                description="Where homecare is missing")
CSV_COLUMNS = ("region", "site_code", "active_patients", "units", "patients_out_of_reach",
               "patients_without_location", "visits_next_7_days", "capacity_visits_next_7_days",
               "utilisation")
GEOJSON = "application/geo+json"


class CoverageArgs(Schema):
    max_travel_minutes = fields.Integer(load_default=90, validate=validate.Range(min=5, max=600))


class PatientPlaceSchema(PatientArea):
    patient_id = fields.Integer()


class SiteCoverageSchema(Schema):
    site_id = fields.Integer()
    site_code = fields.String()
    active_patients = fields.Integer()
    units = fields.Integer()
    patients_out_of_reach = fields.List(fields.Nested(PatientPlaceSchema),
                                        metadata={"description": "beyond reach of every base"})
    patients_without_location = fields.List(fields.Nested(PatientPlaceSchema))
    visits_next_7_days = fields.Integer()
    capacity_visits_next_7_days = fields.Float()
    utilisation = fields.Float(allow_none=True)


class RegionCoverageSchema(Schema):
    region = fields.String()
    sites = fields.List(fields.Nested(SiteCoverageSchema))


class CoverageSchema(Schema):
    max_travel_minutes = fields.Integer()
    regions = fields.List(fields.Nested(RegionCoverageSchema))


@blp.route("/coverage", methods=["GET"])
class Coverage(MethodView):
    @allow(*EVERYONE, sites=LISTING)
    @blp.arguments(CoverageArgs, location="query")
    @blp.response(200, CoverageSchema)
    @blp.also_as(200, "text/csv", "one row a site (Accept: text/csv)")
    @blp.also_as(200, GEOJSON, "map layer: unit bases and homes out of reach")
    def get(self, args):
        """Per region and site: patients, units, who is out of reach, visits vs capacity"""
        session = context.session()
        scope = context.scope()
        regions = coverage(session, context.clock().now(), context.travel(),
                           max_travel_minutes=args["max_travel_minutes"], scope=scope)
        wanted = request.accept_mimetypes.best_match(["application/json", "text/csv", GEOJSON])
        if wanted == "text/csv":
            return Response(_csv(regions), mimetype="text/csv", headers={
                "Content-Disposition": 'attachment; filename="coverage.csv"'})
        if wanted == GEOJSON:
            return Response(_geojson(session, scope, regions), mimetype=GEOJSON)
        return {"max_travel_minutes": args["max_travel_minutes"], "regions": regions}


def _csv(regions) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for region in regions:
        for site in region.sites:
            writer.writerow([
                region.region, site.site_code, site.active_patients, site.units,
                len(site.patients_out_of_reach), len(site.patients_without_location),
                site.visits_next_7_days, site.capacity_visits_next_7_days,
                "" if site.utilisation is None else site.utilisation,
            ])
    return out.getvalue()


def _geojson(session, scope, regions) -> str:
    """Unit bases and homes out of reach; a viewer gets the features without positions."""
    import json

    out_of_reach = {p.patient_id for r in regions for s in r.sites
                    for p in s.patients_out_of_reach}
    features = [
        point_feature(unit.base_lon, unit.base_lat, kind="unit_base", unit_id=unit.id,
               call_sign=unit.call_sign, site_id=unit.site_id)
        for unit in session.scalars(select(Unit).where(scope.where(Unit.site_id)))
    ]
    for patient_id, site_id, study_code, lat, lon in session.execute(
        select(Patient.id, Patient.site_id, Patient.study_code, Home.lat, Home.lon)
        .join(Home, Home.patient_id == Patient.id)
        .where(Patient.id.in_(out_of_reach))
    ):
        features.append(point_feature(lon, lat, kind="home_out_of_reach",
                                      patient_id=patient_id, study_code=study_code,
                                      site_id=site_id))
    if not field_visibility.sees_phi(scope.role):
        for feature in features:
            feature["geometry"] = None
    return json.dumps({"type": "FeatureCollection", "features": features})


def point_feature(lon, lat, **properties) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": properties}
