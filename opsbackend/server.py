"""gunicorn, started from the ``opsbackend serve`` command with ``gunicorn.conf.py``."""

import gc
import runpy
from pathlib import Path

from gunicorn.app.base import BaseApplication

CONFIG_FILE = Path(__file__).with_name("gunicorn.conf.py")


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        # What gunicorn's own -c does: every name of the file that is a setting.
        for key, value in runpy.run_path(str(CONFIG_FILE)).items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return worker_app()


def worker_app():
    """The app of one worker, built after the fork (each worker has its own database
    engine), with the objects of its start-up frozen out of the garbage collector.

    A full collection walks every tracked object: with the ~170,000 that importing and
    building the app leaves, it paused a worker for ~190 ms, and the workers, serving
    alike, paused together. Frozen (``gc.freeze``), they are never walked again; a
    full collection then takes a few ms.
    """
    from opsbackend.app import create_app
    from opsbackend.domain.interop.fhir_export import load_models

    app = create_app()
    load_models()  # the FHIR models: seconds to build, so before the first request
    gc.collect()  # frozen objects are never freed: collect the start-up garbage first
    gc.freeze()
    return app


def serve(host: str, port: int, workers: int | None = None) -> None:
    """gunicorn with ``gunicorn.conf.py``; ``workers`` overrides its WEB_CONCURRENCY."""
    options = {"bind": f"{host}:{port}"}
    if workers:
        options["workers"] = workers
    _Gunicorn(options).run()
