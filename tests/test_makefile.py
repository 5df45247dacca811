"""The first thing a newcomer sees is make's output: it must not look like a failure."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[1] / "Makefile"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_probing_for_python_prints_nothing_about_versions_that_are_not_there(tmp_path):
    # A pyenv shim for a version that is not selected: on PATH, but answers an error.
    shims = tmp_path / "shims"
    shims.mkdir()
    for version in ("python3.13", "python3.12"):
        shim = shims / version
        shim.write_text(f"#!/bin/sh\necho 'pyenv: {version}: command not found' >&2\nexit 127\n")
        shim.chmod(0o755)
    real = shims / "python3.11"
    real.symlink_to(sys.executable)
    work = tmp_path / "checkout"
    work.mkdir()
    shutil.copy(MAKEFILE, work / "Makefile")

    shown = subprocess.run(
        ["make", "-n", ".venv/bin/python"], cwd=work, capture_output=True, text=True,
        env={"PATH": f"{shims}:/usr/bin:/bin"}, check=True)

    assert "command not found" not in shown.stdout + shown.stderr
    assert "python3.11 -m venv .venv" in shown.stdout
