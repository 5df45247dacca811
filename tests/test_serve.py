"""`make run` serves with `opsbackend serve`: start it for real and ask /readyz."""

import gc
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from opsbackend.server import worker_app

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_on_the_port_from_the_environment_one_request_per_connection(
        database_url, tmp_path):
    port = free_port()
    token = "scrape-token-for-the-serve-test-0123456789"
    env = os.environ | {"DATABASE_URL": database_url, "PORT": str(port), "WEB_CONCURRENCY": "2",
                        "METRICS_TOKEN": token, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "counter_4242.db").write_bytes(b"a dead run's")  # emptied at start
    server = subprocess.Popen(
        [str(BIN / "opsbackend"), "serve"], env=env, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    probe = [sys.executable, "-m", "opsbackend.probe", f"http://127.0.0.1:{port}/healthz"]
    try:
        response = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            except requests.RequestException:
                # Not listening yet, or listening while the worker still boots (it builds
                # the FHIR models before its first request: seconds on a busy machine).
                time.sleep(0.2)
        assert response is not None, "the server never answered"
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
        docs = requests.get(f"http://127.0.0.1:{port}/api/v1/docs", timeout=10)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        assert subprocess.run(probe).returncode == 0  # the image's HEALTHCHECK
        # Whichever of the two workers served them, /metrics counts every request.
        with requests.Session() as client:
            answers = [client.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                       for _ in range(20)]
        assert _served(port, token, "/healthz") >= 21
        # One request per connection (gunicorn.conf.py, keepalive): a reused connection
        # stays with the worker that accepted it, so a proxy's pool ends up on one worker.
        assert {answer.headers.get("Connection") for answer in answers} == {"close"}
        assert not (tmp_path / "m" / "counter_4242.db").exists()
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/api/v1/docs" in output
    assert subprocess.run(probe, capture_output=True).returncode == 1


def _served(port: int, token: str, route: str) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5,
                        headers={"Authorization": f"Bearer {token}"}).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == "opsbackend_http_request_duration_seconds_count"
               and sample.labels["route"] == route)


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
