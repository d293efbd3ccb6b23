"""tcp and http: the plainest availability probes, from the runner.

Examples::

    - type: tcp
      host: "{vip:api}"
      port: 5000
    - type: http
      url: http://{vip:api}:5000/v3
      expect_status: [200, 300]
"""

from __future__ import annotations

import http.client
import socket
import time
import urllib.parse

from pydantic import Field, field_validator

from ha_tests.inventory import expand_addresses
from ha_tests.monitors.base import Monitor, ProbeResult
from ha_tests.validation import StrictModel


class TcpParams(StrictModel):
    host: str = Field(description="address, or {vip:NAME} / {node:NAME} from the inventory")
    port: int = Field(ge=1, le=65535)


class TcpMonitor(Monitor):
    Params = TcpParams

    def setup(self) -> None:
        self.host = expand_addresses(self.params.host, self.ctx.inventory)

    def probe(self) -> ProbeResult:
        started = time.monotonic()
        try:
            with socket.create_connection((self.host, self.params.port),
                                          timeout=self.timeout):
                return ProbeResult(True, time.monotonic() - started)
        except OSError as exc:
            return ProbeResult(False, detail={"error": exc.strerror or str(exc)})


class HttpParams(StrictModel):
    url: str = Field(description="http(s) URL; {vip:NAME} / {node:NAME} are expanded")
    method: str = "GET"
    expect_status: list[int] = [200]

    @field_validator("url")
    @classmethod
    def _http_url(cls, value):
        parsed = urllib.parse.urlsplit(value.replace("{", "x").replace("}", "x"))
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("url must be http:// or https:// with a host")
        return value


class HttpMonitor(Monitor):
    Params = HttpParams

    def setup(self) -> None:
        self.url = expand_addresses(self.params.url, self.ctx.inventory)

    def probe(self) -> ProbeResult:
        parsed = urllib.parse.urlsplit(self.url)
        conn_cls = http.client.HTTPSConnection if parsed.scheme == "https" \
            else http.client.HTTPConnection
        conn = conn_cls(parsed.hostname, parsed.port, timeout=self.timeout)
        started = time.monotonic()
        try:
            path = parsed.path or "/"
            if parsed.query:
                path += "?" + parsed.query
            conn.request(self.params.method, path)
            response = conn.getresponse()
            response.read()
            ok = response.status in self.params.expect_status
            detail = {"status": response.status}
            return ProbeResult(ok, time.monotonic() - started, detail)
        except (OSError, http.client.HTTPException) as exc:
            return ProbeResult(False, detail={"error": str(exc) or type(exc).__name__})
        finally:
            conn.close()
