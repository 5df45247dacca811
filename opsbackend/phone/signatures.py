"""Inbound webhooks are refused unless Twilio's ``X-Twilio-Signature`` is valid."""

from functools import wraps

from flask import current_app, request
from flask_smorest import abort
from twilio.request_validator import RequestValidator

from opsbackend.api import context
from opsbackend.api.auth import PUBLIC
from opsbackend.domain.history.audit import act_as


def signed_url() -> str:
    """The URL Twilio signed: the configured public base, or the request's own URL.

    Behind TLS termination, set TRUSTED_PROXIES (ProxyFix) or PUBLIC_BASE_URL so
    this is the https URL Twilio called, not the internal one.
    """
    base = current_app.extensions["settings"].public_base_url
    if base:
        path = request.full_path if request.query_string else request.path
        return base.rstrip("/") + path
    return request.url


def twilio_signed(view):
    """No bearer token here: the signature, made with our auth token, is the credential."""

    @wraps(view)
    def checked(*args, **kwargs):
        token = current_app.extensions["settings"].twilio_auth_token
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(
            signed_url(), request.form.to_dict(flat=True), signature
        ):
            current_app.logger.warning("refused an unsigned or forged Twilio webhook")
            abort(403, message="invalid or missing X-Twilio-Signature")
        # Until the caller is known (a nurse, a contact): "twilio:sms", "twilio:status".
        act_as(context.session(), "twilio:" + request.path.strip("/").split("/")[1])
        return view(*args, **kwargs)

    checked.access_policy = PUBLIC
    return checked
