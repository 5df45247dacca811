"""gunicorn, started from the ``opsbackend serve`` command."""

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Each worker builds its own app (and database engine) after the fork.
        from opsbackend.app import create_app

        return create_app()


def serve(host: str, port: int, workers: int) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "accesslog": None,  # the app logs each request as JSON
            "errorlog": "-",
            "graceful_timeout": 10,
        }
    ).run()
