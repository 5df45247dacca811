"""``python -m opsbackend.probe [URL]``: exit 0 when URL answers 2xx, else 1.

The image's HEALTHCHECK (a slim image has no curl): by default the web's
``http://127.0.0.1:$PORT/healthz``; the schedulers probe their own ``/healthz`` on
METRICS_PORT. Imports nothing of the app, so a probe costs a few milliseconds.
"""

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else (
        f"http://127.0.0.1:{os.environ.get('PORT') or 8000}/healthz")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
