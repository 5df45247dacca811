"""What the fake outside services share: a threaded HTTP server on loopback, JSON replies."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    # Headers and body go out in two writes: without this, delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def send_json(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args):
        pass


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: thirty-two senders connecting at once would
    # be refused or reset, which no real provider does.
    request_queue_size = 128


class FakeServer:
    """Serves ``handler`` on 127.0.0.1 and a free port until ``close()``."""

    def start(self, handler: type[JsonHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = _Server((host, port), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
