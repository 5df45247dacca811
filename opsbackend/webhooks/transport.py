"""The signed POST of one webhook delivery, over urllib3 (already installed with requests).

It connects to the address the target policy checked (``Target.address``), sending the
URL's host name in the Host header and, for https, in SNI and the certificate check:
a second DNS lookup cannot send the request somewhere else. Redirects are not followed
(a redirect to an internal address is the same attack); a 3xx counts as a failure.
"""

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.exceptions import HTTPError

from opsbackend.webhooks.targets import TargetPolicy, TargetRefused, resolve_target

# A receiver's answer is not read beyond this: only its status counts.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "opsbackend-webhooks/1.0"


class DeliveryError(Exception):
    """The receiver could not be reached, or refused by the target policy."""


class HttpTransport:
    def __init__(self, policy: TargetPolicy, timeout_seconds: float = 10.0):
        self.policy = policy
        self.timeout = Timeout(connect=min(timeout_seconds, 5.0), read=timeout_seconds)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST the body; returns the HTTP status. Raises DeliveryError."""
        try:
            target = resolve_target(url, self.policy)
        except TargetRefused as exc:
            raise DeliveryError(f"target refused: {exc}") from exc
        pool_class = HTTPSConnectionPool if target.scheme == "https" else HTTPConnectionPool
        options = {"server_hostname": target.host, "assert_hostname": target.host} \
            if target.scheme == "https" else {}
        try:
            with pool_class(target.address, target.port, timeout=self.timeout, maxsize=1,
                            retries=False, **options) as pool:
                response = pool.urlopen(
                    "POST", target.path, body=body, redirect=False, retries=False,
                    preload_content=False,
                    headers=headers | {"Host": target.host_header, "User-Agent": USER_AGENT,
                                       "Content-Type": "application/json"},
                )
                response.read(MAX_RESPONSE_BYTES)
                response.release_conn()
                return response.status
        except (HTTPError, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}"[:300]) from exc
