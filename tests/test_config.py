import pytest

from opsbackend.config import DEV_SECRET_KEY, ConfigError, Settings


def test_defaults_are_sqlite_and_port_8000():
    settings = Settings.from_env({})

    assert settings.database_url.startswith("sqlite:///")
    assert settings.port == 8000


def test_port_and_database_come_from_the_environment():
    settings = Settings.from_env({"PORT": "9123", "DATABASE_URL": "postgresql+psycopg://x/y"})

    assert settings.port == 9123
    assert settings.database_url == "postgresql+psycopg://x/y"


def test_a_non_numeric_port_is_refused_by_name():
    with pytest.raises(ConfigError, match="PORT"):
        Settings.from_env({"PORT": "eighty"})


@pytest.mark.parametrize(
    "env",
    [
        {"OPSBACKEND_ENV": "production", "DATABASE_URL": "postgresql+psycopg://x/y"},
        {"OPSBACKEND_ENV": "production", "SECRET_KEY": DEV_SECRET_KEY,
         "DATABASE_URL": "postgresql+psycopg://x/y"},
        {"OPSBACKEND_ENV": "production", "SECRET_KEY": "s" * 40},
        {"OPSBACKEND_ENV": "production", "SECRET_KEY": "s" * 40,
         "DATABASE_URL": "postgresql+psycopg://x/y", "METRICS_TOKEN": "short"},
    ],
)
def test_production_refuses_the_dev_secret_and_sqlite(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_production_starts_with_a_real_secret_and_postgres():
    settings = Settings.from_env(
        {"OPSBACKEND_ENV": "production", "SECRET_KEY": "s" * 40,
         "DATABASE_URL": "postgresql+psycopg://x/y"}
    )

    assert settings.environment == "production"


@pytest.mark.parametrize("lanes", ["0", "65", "many"])
def test_send_lanes_out_of_range_are_refused_by_name(lanes):
    with pytest.raises(ConfigError, match="SMS_SEND_LANES"):
        Settings.from_env({"SMS_SEND_LANES": lanes})


@pytest.mark.parametrize(("name", "value"), [
    ("MAX_CONTENT_LENGTH", "-5"), ("PORT", "99999"), ("PORT", "0"), ("METRICS_PORT", "-1"),
    ("LOG_LEVEL", "LOUD"), ("DEFAULT_PHONE_REGION", "ZZ"), ("VISIT_HORIZON_HOURS", "0"),
    ("TOKEN_CACHE_SECONDS", "-1"), ("TRAVEL_SPEED_KMH", "nan"), ("TRAVEL_ROAD_FACTOR", "0.5"),
    ("GEOCODER_MIN_DELAY_SECONDS", "soon"),
])
def test_a_value_the_service_would_run_wrong_with_is_refused_by_name(name, value):
    """A negative MAX_CONTENT_LENGTH would refuse every body, an unknown phone region
    every national number: refused at start, naming the variable."""
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_command_line_says_which_variable_is_wrong_in_one_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    command = Path(sys.executable).parent / "opsbackend"
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                        "DEFAULT_PHONE_REGION": "ZZ"}
    done = subprocess.run([str(command), "routes"], env=env, capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: configuration: DEFAULT_PHONE_REGION must be a two-letter region phonenumbers "
        "knows (US, CA, GB, ...), got 'ZZ'"]
