"""How each route finds the site it touches, so every call stays inside the caller's sites.

Every route declares one policy with ``@allow(..., sites=...)``; a route without one is
refused (and fails tests/test_site_scoping.py). Before the view runs,
``enforce_site_policy`` checks every record id the request names, in its path or at the
top of its JSON body, against the caller's sites:

- an id in the path of another site's record answers 404, worded like a missing record,
  so the caller cannot tell "elsewhere" from "nowhere";
- an id in the body (the parent of a new record, the site a record moves to) answers 422
  naming the field;
- a nurse token bound to a nurse records work only as that nurse (422 naming the field).

Lists filter in the domain queries with ``Scope.where`` (the ``LISTING`` routes); the
phone channels and jobs call the same functions with their own scope.
"""

from dataclasses import dataclass

from flask import g, request
from flask_smorest import abort

from opsbackend.api import context
from opsbackend.domain import site_of
from opsbackend.domain.errors import Invalid, NotFound

# Body fields naming the nurse who did the work; a nurse-bound token must name itself.
ACTING_NURSE_FIELDS = ("nurse_id", "reported_by_nurse_id", "hung_by_nurse_id",
                       "changed_by_nurse_id")
LARGEST_ID = 2**31 - 1  # bigger ids name nothing; the schema refuses them


@dataclass(frozen=True)
class SitePolicy:
    name: str
    description: str
    # Ids in the path and the body are checked against the caller's sites.
    checks_ids: bool = True
    # Writes need a caller of every site (a global admin).
    global_writes: bool = False


RECORD = SitePolicy(
    "record", "the record's site, found from the id in the path: another site's record is "
    "a 404; ids in the body must be of the caller's sites (422 naming the field)")
LISTING = SitePolicy("listing", "only rows of the caller's sites are listed")
CREATES = SitePolicy(
    "creates", "the new record's site, or its parent's, given in the body must be one of "
    "the caller's sites (422 naming the field)")
EVERY_SITE = SitePolicy(
    "every_site", "not tied to one site (reference data, global settings); changes need a "
    "global admin", global_writes=True)
# Checked by the domain function itself (records spanning sites, tokens).
IN_DOMAIN = SitePolicy(
    "in_domain", "checked by the domain rule: records spanning several sites must all be "
    "the caller's; another site's record is a 404", checks_ids=False)

POLICIES = (RECORD, LISTING, CREATES, EVERY_SITE, IN_DOMAIN)


def mark(view, policy: SitePolicy):
    if policy not in POLICIES:
        raise ValueError(f"unknown site policy {policy!r}")
    view.site_policy = policy
    doc = view._apidoc.setdefault("manual_doc", {})
    doc["x-sites"] = policy.name
    doc["x-sites-rule"] = policy.description
    return view


def enforce_site_policy(policy: SitePolicy) -> None:
    """``before_request``, after the role check: the ids the request names, checked."""
    scope = context.scope()
    writing = request.method not in ("GET", "HEAD")
    if writing and policy.global_writes and not scope.is_global:
        abort(403, message="this changes every site's settings: only a caller of every "
                           "site may do it")
    if not policy.checks_ids:
        return
    session = context.session()
    for name, value in (request.view_args or {}).items():
        if site_of.knows(name) and not _covered(session, scope, name, value):
            raise NotFound(f"{site_of.label(name).capitalize()} {value} does not exist")
    if isinstance(body := _json_body(), dict):
        _check_body(session, scope, body)


def _json_body():
    """The JSON body, or None: a body that does not parse is the schema's to refuse."""
    if not request.is_json:
        return None
    try:
        return request.get_json(silent=True)
    except (RecursionError, ValueError):  # deep nesting, huge number literals
        return None


def _check_body(session, scope, body: dict) -> None:
    nurse_id = g.token.nurse_id if g.get("token") else None
    for name, value in body.items():
        if not _an_id(value) or not site_of.knows(name):
            continue
        if nurse_id is not None and name in ACTING_NURSE_FIELDS and value != nurse_id:
            raise Invalid(f"a nurse token records work only as its own nurse ({nurse_id})",
                          field=name)
        if not _covered(session, scope, name, value):
            raise Invalid(f"{site_of.label(name)} {value} does not exist", field=name)


def _covered(session, scope, name: str, value) -> bool:
    if scope.is_global or not _an_id(value):
        return True
    if site_of.names_a_site(name):
        # A site is its own site, and a scope holds only sites that exist: no query (a
        # missing site and another site's are refused alike).
        return scope.covers(value)
    site_id = site_of.site_of(session, name, value)
    return site_id is site_of.MISSING or scope.covers(site_id)


def _an_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= LARGEST_ID
