"""`make run` serves with `opsbackend serve`: start it for real and ask /readyz."""

import gc
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from opsbackend.server import worker_app

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_readyz_on_the_port_from_the_environment(database_url, tmp_path):
    port = free_port()
    env = os.environ | {"DATABASE_URL": database_url, "PORT": str(port), "WEB_CONCURRENCY": "1"}
    server = subprocess.Popen(
        [str(BIN / "opsbackend"), "serve"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        response = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or listening while the worker still boots (it builds
                # the FHIR models before its first request: seconds on a busy machine).
                time.sleep(0.2)
        assert response is not None, "the server never answered"
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
        docs = requests.get(f"http://127.0.0.1:{port}/api/v1/docs", timeout=2)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/api/v1/docs" in output


def test_a_worker_freezes_its_start_up_objects_out_of_the_garbage_collector(
    database_url, monkeypatch
):
    # Walking them in every full collection paused each worker ~190 ms, all at once.
    monkeypatch.setenv("DATABASE_URL", database_url)
    gc.unfreeze()
    app = worker_app()
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        app.extensions["database"].dispose()
