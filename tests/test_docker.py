"""The image runs the commands the tests run (no Docker daemon here: the compose file's
schema and the Dockerfile's lint are `make lint`'s)."""

from pathlib import Path

import click
from ruamel.yaml import YAML

from opsbackend.cli import main

DOCKER = Path(__file__).resolve().parents[1] / "docker"


def resolves(argv: list[str]) -> bool:
    """``argv`` (after ``opsbackend``) names a command of the CLI."""
    command, context = main, click.Context(main)
    for word in argv:
        if not isinstance(command, click.Group):
            return word.startswith("-")
        command = command.get_command(context, word)
        if command is None:
            return False
    return not isinstance(command, click.Group)


def test_every_service_runs_an_opsbackend_command_the_tests_run():
    services = YAML(typ="safe").load(DOCKER / "compose.yaml")["services"]
    commands = {name: service["command"] for name, service in services.items()
                if "command" in service}

    # test_cli (db upgrade), test_serve (serve), test_faults (scheduler) run these.
    assert commands == {"migrate": ["opsbackend", "db", "upgrade"],
                        "web": ["opsbackend", "serve"], "scheduler": ["opsbackend", "scheduler"]}
    assert all(resolves(argv[1:]) for argv in commands.values())
    assert services["scheduler"]["healthcheck"]["test"][1:4] == ["python", "-m",
                                                                 "opsbackend.probe"]


def test_the_image_serves_by_default_and_probes_healthz():
    dockerfile = (DOCKER / "Dockerfile").read_text()

    assert 'CMD ["opsbackend", "serve"]' in dockerfile.splitlines()
    assert 'CMD ["python", "-m", "opsbackend.probe"]' in dockerfile
    assert dockerfile.rstrip().endswith("FROM runtime AS production")  # the default target
