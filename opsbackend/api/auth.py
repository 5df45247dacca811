"""Who may call what.

Every endpoint declares its roles with ``@allow(...)`` (or ``@public``); a
request to an endpoint without a declaration is refused, so a new route
cannot be open by accident. Admins may do everything.
"""

from flask import current_app, g, request
from flask_smorest import abort

from opsbackend.api import site_policy
from opsbackend.api.site_policy import SitePolicy
from opsbackend.api.token_cache import Caller
from opsbackend.domain.registry import tokens
from opsbackend.models.auth import ROLES

PUBLIC = frozenset({"*"})
EVERYONE = ROLES
STAFF = ("admin", "dispatcher", "nurse")
# Endpoints of third-party blueprints: the OpenAPI document and its viewer.
PUBLIC_ENDPOINT_PREFIXES = ("api-docs.", "api_docs_assets.")


def allow(*roles: str, sites: SitePolicy | None = None):
    """Declare who may call a view and how the site it touches is found (site_policy)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    allowed = frozenset(roles) | {"admin"}

    def mark(view):
        view.access_policy = allowed
        # Shown in the OpenAPI document beside each operation.
        view._apidoc = getattr(view, "_apidoc", {})
        view._apidoc.setdefault("manual_doc", {})["x-roles"] = sorted(allowed)
        if sites is not None:
            site_policy.mark(view, sites)
        return view

    return mark


def public(view):
    view.access_policy = PUBLIC
    return view


def policy_for(endpoint: str, method: str):
    """The declared roles of one endpoint and method, PUBLIC, or None if undeclared."""
    if endpoint == "static" or endpoint.startswith(PUBLIC_ENDPOINT_PREFIXES):
        return PUBLIC
    return getattr(_view(endpoint, method), "access_policy", None)


def site_policy_for(endpoint: str, method: str) -> SitePolicy | None:
    """The declared site policy of one endpoint and method, or None if undeclared."""
    return getattr(_view(endpoint, method), "site_policy", None)


def _view(endpoint: str, method: str):
    view = current_app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        method = "get" if method == "HEAD" else method.lower()
        view = getattr(view_class, method, None)
    return view


def enforce_access_policy():
    """``before_request``: authenticate the bearer token and check the role."""
    if request.method == "OPTIONS" or request.endpoint is None:
        return  # automatic OPTIONS, or a 404/405 that routing will answer
    policy = policy_for(request.endpoint, request.method)
    if policy is None:
        current_app.logger.error("no access policy declared for %s", request.endpoint)
        abort(403, message="this endpoint declares no access policy")
    if policy is PUBLIC:
        return
    token = _authenticate()
    if token.role not in policy:
        abort(
            403,
            message=f"role {token.role!r} may not do this; allowed: {', '.join(sorted(policy))}",
        )
    sites = site_policy_for(request.endpoint, request.method)
    if sites is None:
        current_app.logger.error("no site policy declared for %s", request.endpoint)
        abort(403, message="this endpoint declares no site policy")
    site_policy.enforce_site_policy(sites)


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="opsbackend"'}
    if scheme.lower() != "bearer" or not raw.strip():
        abort(401, message="send an API token: Authorization: Bearer <token>", headers=challenge)
    database = current_app.extensions["database"]
    session = database.scoped()
    caller = _caller(session, raw.strip())
    if caller is None:
        abort(401, message="the API token is unknown or revoked", headers=challenge)
    g.token = caller
    database.label(session, actor=f"token:{caller.id}:{caller.name}", request_id=g.request_id)
    return caller


def _caller(session, raw: str) -> Caller | None:
    cache = current_app.extensions["token_cache"]
    token_hash = tokens.hash_token(raw)
    caller = cache.get(token_hash)
    if caller is None:
        token = tokens.authenticate(session, raw)
        if token is None:
            return None
        caller = Caller(id=token.id, name=token.name, role=token.role, nurse_id=token.nurse_id,
                        site_ids=tokens.site_ids_of(session, token.id))
        cache.put(token_hash, caller)
    return caller
