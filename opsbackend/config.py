"""Settings from environment variables (12-factor).

Every variable read here is listed, with its default, in ``.env.example``.
"""

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import phonenumbers

from opsbackend.domain.infusion.bag_limits import BagLimitsTable
from opsbackend.domain.interop.webhook_sender import SenderSettings
from opsbackend.domain.messaging.send_lanes import DEFAULT_LANES, MAX_LANES
from opsbackend.domain.rules import AlertRules, TimelineRules
from opsbackend.routing.travel import DEFAULT_ROAD_FACTOR, DEFAULT_SPEED_KMH
from opsbackend.webhooks.targets import TargetPolicy

DEV_SECRET_KEY = "dev-insecure-secret-change-me"
ENVIRONMENTS = ("development", "test", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Each number's least: a value under it would start a service that misbehaves quietly (a
# negative MAX_CONTENT_LENGTH refuses every body, a zero horizon plans no visits).
AT_LEAST = {
    "max_content_length": 1024, "token_cache_seconds": 0,
    "trusted_proxies": 0, "course_start_window_days": 1, "visit_horizon_hours": 1,
    "interruption_deviation_minutes": 1, "clock_skew_seconds": 0,
    "missed_bag_grace_minutes": 0, "at_risk_lead_minutes": 0,
    "pump_alarm_unresolved_minutes": 0, "unassigned_visit_within_hours": 0,
    "geocoder_min_delay_seconds": 0, "travel_speed_kmh": 1, "travel_road_factor": 1,
}


class ConfigError(RuntimeError):
    """The service refuses to start with this configuration."""


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'var' / 'opsbackend.db'}"


def _int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return float(default)
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = field(default_factory=_default_database_url)
    secret_key: str = DEV_SECRET_KEY
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000
    token_cache_seconds: int = 10
    max_content_length: int = 256 * 1024
    # A course's planned start lies within this many days of now (either way).
    course_start_window_days: int = 365
    trusted_proxies: int = 0
    default_phone_region: str = "US"
    visit_horizon_hours: int = 72
    interruption_deviation_minutes: int = 240
    clock_skew_seconds: int = 300
    geocoder: str = "none"
    nominatim_url: str = "https://nominatim.openstreetmap.org"
    geocoder_user_agent: str = "opsbackend/0.1 (home infusion operations)"
    geocoder_min_delay_seconds: float = 1.0
    osrm_url: str = ""
    travel_speed_kmh: float = DEFAULT_SPEED_KMH
    travel_road_factor: float = DEFAULT_ROAD_FACTOR
    sms_provider: str = "console"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_from_number: str = ""
    twilio_api_base_url: str = ""
    # How many SMS the outbox hands to the provider at once (send_lanes).
    sms_send_lanes: int = DEFAULT_LANES
    public_base_url: str = ""
    missed_bag_grace_minutes: int = 15
    at_risk_lead_minutes: int = 60
    pump_alarm_unresolved_minutes: int = 30
    unassigned_visit_within_hours: int = 12
    webhook_allow_private_targets: bool = False
    webhook_max_attempts: int = 12
    webhook_disable_after_failures: int = 30
    webhook_timeout_seconds: int = 10
    fhir_identifier_system: str = "urn:opsbackend:site:{site_code}:study-code"
    bag_limits: str = ""
    metrics_token: str = ""
    metrics_port: int = 0
    # The board map's tile layer ({z}/{x}/{y} URL template); empty: no tiles, the markers
    # and routes on a plain background (nothing is fetched from outside).
    board_tile_url: str = ""

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        settings = cls(
            environment=env.get("OPSBACKEND_ENV", "development"),
            database_url=env.get("DATABASE_URL") or _default_database_url(),
            secret_key=env.get("SECRET_KEY") or DEV_SECRET_KEY,
            log_level=env.get("LOG_LEVEL", "INFO").upper(),
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8000),
            token_cache_seconds=_int(env, "TOKEN_CACHE_SECONDS", 10),
            max_content_length=_int(env, "MAX_CONTENT_LENGTH", 256 * 1024),
            course_start_window_days=_int(env, "COURSE_START_WINDOW_DAYS", 365),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0),
            default_phone_region=env.get("DEFAULT_PHONE_REGION", "US").upper(),
            visit_horizon_hours=_int(env, "VISIT_HORIZON_HOURS", 72),
            interruption_deviation_minutes=_int(env, "INTERRUPTION_DEVIATION_MINUTES", 240),
            clock_skew_seconds=_int(env, "CLOCK_SKEW_SECONDS", 300),
            geocoder=env.get("GEOCODER", "none").lower(),
            nominatim_url=env.get("NOMINATIM_URL", "https://nominatim.openstreetmap.org"),
            geocoder_user_agent=env.get(
                "GEOCODER_USER_AGENT", "opsbackend/0.1 (home infusion operations)"
            ),
            geocoder_min_delay_seconds=_float(env, "GEOCODER_MIN_DELAY_SECONDS", 1.0),
            osrm_url=env.get("OSRM_URL", ""),
            travel_speed_kmh=_float(env, "TRAVEL_SPEED_KMH", DEFAULT_SPEED_KMH),
            travel_road_factor=_float(env, "TRAVEL_ROAD_FACTOR", DEFAULT_ROAD_FACTOR),
            sms_provider=env.get("SMS_PROVIDER", "console").lower(),
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
            twilio_from_number=env.get("TWILIO_FROM_NUMBER", ""),
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL", ""),
            sms_send_lanes=_int(env, "SMS_SEND_LANES", DEFAULT_LANES),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
            missed_bag_grace_minutes=_int(env, "MISSED_BAG_GRACE_MINUTES", 15),
            at_risk_lead_minutes=_int(env, "AT_RISK_LEAD_MINUTES", 60),
            pump_alarm_unresolved_minutes=_int(env, "PUMP_ALARM_UNRESOLVED_MINUTES", 30),
            unassigned_visit_within_hours=_int(env, "UNASSIGNED_VISIT_WITHIN_HOURS", 12),
            webhook_allow_private_targets=env.get("WEBHOOK_ALLOW_PRIVATE_TARGETS", "0") == "1",
            webhook_max_attempts=_int(env, "WEBHOOK_MAX_ATTEMPTS", 12),
            webhook_disable_after_failures=_int(env, "WEBHOOK_DISABLE_AFTER_FAILURES", 30),
            webhook_timeout_seconds=_int(env, "WEBHOOK_TIMEOUT_SECONDS", 10),
            fhir_identifier_system=env.get(
                "FHIR_IDENTIFIER_SYSTEM", "urn:opsbackend:site:{site_code}:study-code"),
            bag_limits=env.get("BAG_LIMITS", ""),
            metrics_token=env.get("METRICS_TOKEN", ""),
            metrics_port=_int(env, "METRICS_PORT", 0),
            board_tile_url=env.get("BOARD_TILE_URL", ""),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        for name, least in AT_LEAST.items():
            if getattr(self, name) < least:
                raise ConfigError(f"{name.upper()} must be {least} or more")
        if not 1 <= self.port <= 65535 or not 0 <= self.metrics_port <= 65535:
            raise ConfigError("PORT must be a TCP port (1 to 65535), METRICS_PORT one or 0")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
        if self.default_phone_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError("DEFAULT_PHONE_REGION must be a two-letter region phonenumbers "
                              f"knows (US, CA, GB, ...), got {self.default_phone_region!r}")
        if self.environment not in ENVIRONMENTS:
            raise ConfigError(f"OPSBACKEND_ENV must be one of {ENVIRONMENTS}")
        if self.geocoder not in ("none", "nominatim"):
            raise ConfigError("GEOCODER must be none or nominatim")
        if self.sms_provider not in ("console", "twilio"):
            raise ConfigError("SMS_PROVIDER must be console or twilio")
        if self.sms_provider == "twilio" and not (
            self.twilio_account_sid and self.twilio_auth_token
            and (self.twilio_messaging_service_sid or self.twilio_from_number)
        ):
            raise ConfigError("SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
                              "and TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
        if not 1 <= self.sms_send_lanes <= MAX_LANES:
            raise ConfigError(f"SMS_SEND_LANES must be 1 to {MAX_LANES}")
        if min(self.webhook_max_attempts, self.webhook_disable_after_failures,
               self.webhook_timeout_seconds) < 1:
            raise ConfigError("WEBHOOK_MAX_ATTEMPTS, WEBHOOK_DISABLE_AFTER_FAILURES and "
                              "WEBHOOK_TIMEOUT_SECONDS must be 1 or more")
        if "{site_code}" not in self.fhir_identifier_system:
            raise ConfigError("FHIR_IDENTIFIER_SYSTEM must contain {site_code}: each site's "
                              "study codes need their own identifier system")
        self.bag_limits_table()  # a malformed BAG_LIMITS refuses to start
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be set to 32+ random characters in production")
            if self.database_url.startswith("sqlite"):
                raise ConfigError("production needs DATABASE_URL to point at PostgreSQL")
            if self.metrics_token and len(self.metrics_token) < 32:
                raise ConfigError("METRICS_TOKEN must be 32+ random characters in production")

    def timeline_rules(self) -> TimelineRules:
        return TimelineRules(
            visit_horizon=timedelta(hours=self.visit_horizon_hours),
            interruption_deviation_after=timedelta(minutes=self.interruption_deviation_minutes),
            clock_skew=timedelta(seconds=self.clock_skew_seconds),
            bag_limits=self.bag_limits_table(),
        )

    def alert_rules(self) -> AlertRules:
        return AlertRules(
            missed_bag_grace=timedelta(minutes=self.missed_bag_grace_minutes),
            at_risk_lead=timedelta(minutes=self.at_risk_lead_minutes),
            pump_alarm_unresolved_after=timedelta(minutes=self.pump_alarm_unresolved_minutes),
            unassigned_visit_within=timedelta(hours=self.unassigned_visit_within_hours),
        )

    def webhook_policy(self) -> TargetPolicy:
        return TargetPolicy(production=self.environment == "production",
                            allow_private=self.webhook_allow_private_targets)

    def webhook_sender(self) -> SenderSettings:
        return SenderSettings(policy=self.webhook_policy(),
                              max_attempts=self.webhook_max_attempts,
                              disable_after_failures=self.webhook_disable_after_failures,
                              timeout_seconds=self.webhook_timeout_seconds)

    def bag_limits_table(self) -> BagLimitsTable:
        try:
            return BagLimitsTable.from_json(self.bag_limits)
        except ValueError as exc:
            raise ConfigError(f"BAG_LIMITS: {exc}") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
