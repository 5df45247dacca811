"""The provider chosen by configuration (SMS_PROVIDER)."""

from opsbackend.sms.console_provider import ConsoleSmsProvider
from opsbackend.sms.metered import MeteredSmsProvider


def provider_from_settings(settings):
    """The configured provider, its failures counted in the metrics."""
    return MeteredSmsProvider(_provider(settings))


def _provider(settings):
    if settings.sms_provider == "twilio":
        from opsbackend.sms.twilio_provider import TwilioSmsProvider

        return TwilioSmsProvider(
            account_sid=settings.twilio_account_sid, auth_token=settings.twilio_auth_token,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            from_number=settings.twilio_from_number,
            api_base_url=settings.twilio_api_base_url,
        )
    return ConsoleSmsProvider()
