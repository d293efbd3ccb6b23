"""A tiny keystone + nova on 127.0.0.1, real HTTP, for the API monitors' local tests.

Only what the monitors and openstacksdk touch: version discovery, password authentication
(POST /v3/auth/tokens), token validation (GET /v3/auth/tokens), a few lists, and nova's
os-services / os-hypervisors with a state the test can change. ``stop()`` closes the
listening socket (clients get "connection refused", as from a dead API), ``start()`` opens
it again on the same port; ``delay`` makes every answer slow.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import textwrap
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PASSWORD = "s3cret-fake-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeCloud:
    def __init__(self, with_compute: bool = True):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.with_compute = with_compute
        self.tokens: set[str] = set()
        self.issued = 0
        self.validations = 0
        self.delay = 0.0
        self.status_override: int | None = None
        #: path -> (status, raw body bytes) sent as is to an authorized GET
        self.raw_answers: dict[str, tuple[int, bytes]] = {}
        self.services = [{
            "id": 1, "binary": "nova-compute", "host": "cmp1", "zone": "nova",
            "status": "enabled", "state": "up", "forced_down": False,
            "updated_at": "2026-01-01T00:00:00.000000", "disabled_reason": None}]
        self.hypervisors = [{"id": 1, "hypervisor_hostname": "cmp1", "state": "up",
                             "status": "enabled"}]
        self._server: ThreadingHTTPServer | None = None
        self.connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------
    def start(self) -> FakeCloud:
        cloud = self

        class Handler(_Handler):
            fake = cloud
        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for conn in list(self.connections):  # a dead process drops its keep-alive clients too
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.connections.clear()

    def set_service(self, **fields) -> None:
        self.services[0].update(fields)

    def clouds_yaml(self, path, name: str = "fake") -> str:
        path.write_text(json.dumps({"clouds": {name: {
            "auth": {"auth_url": self.base, "username": "admin", "password": PASSWORD,
                     "project_name": "admin", "user_domain_name": "Default",
                     "project_domain_name": "Default"},
            "identity_api_version": 3, "region_name": "RegionOne"}}}))
        return str(path)

    # -- documents ---------------------------------------------------------------------------
    def catalog(self) -> list[dict]:
        def entry(kind, name, url):
            return {"type": kind, "name": name, "id": name, "endpoints": [
                {"id": f"{name}-{i}", "interface": i, "region": "RegionOne",
                 "region_id": "RegionOne", "url": url} for i in ("public", "internal", "admin")]}
        entries = [entry("identity", "keystone", f"{self.base}/v3")]
        if self.with_compute:
            entries.append(entry("compute", "nova", f"{self.base}/compute/v2.1"))
        return entries

    def token_body(self) -> dict:
        now = dt.datetime.now(dt.UTC)
        return {"token": {
            "methods": ["password"], "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "expires_at": (now + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "user": {"id": "u1", "name": "admin", "domain": {"id": "default",
                                                             "name": "Default"}},
            "project": {"id": "p1", "name": "admin", "domain": {"id": "default",
                                                                "name": "Default"}},
            "roles": [{"id": "r1", "name": "admin"}], "catalog": self.catalog()}}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # clients that gave up (probe timeouts) break pipes; that is the point


class _Handler(BaseHTTPRequestHandler):
    fake: FakeCloud
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.fake.connections.add(self.connection)

    def finish(self) -> None:
        self.fake.connections.discard(self.connection)
        super().finish()

    def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("X-Auth-Token") in self.fake.tokens

    def _prelude(self) -> bool:
        if self.fake.delay:
            time.sleep(self.fake.delay)
        if self.fake.status_override:
            self._send(self.fake.status_override, {"error": "overridden"})
            return False
        return True

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self._prelude():
            return
        if self.path.rstrip("/") != "/v3/auth/tokens":
            return self._send(404)
        try:
            password = body["auth"]["identity"]["password"]["user"]["password"]
        except (KeyError, TypeError):
            return self._send(400, {"error": {"message": "bad request"}})
        if password != PASSWORD:
            return self._send(401, {"error": {"code": 401, "message": "unauthorized"}})
        token = uuid.uuid4().hex
        self.fake.tokens.add(token)
        self.fake.issued += 1
        self._send(201, self.fake.token_body(), {"X-Subject-Token": token})

    def do_GET(self) -> None:  # noqa: N802
        if not self._prelude():
            return
        base = self.fake.base
        path = self.path.split("?")[0].rstrip("/")
        v3 = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
              "links": [{"rel": "self", "href": f"{base}/v3/"}],
              "media-types": [{"base": "application/json",
                               "type": "application/vnd.openstack.identity-v3+json"}]}
        nova = {"id": "v2.1", "status": "CURRENT", "version": "2.79", "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": f"{base}/compute/v2.1/"}]}
        if path == "":
            return self._send(300, {"versions": {"values": [v3]}})
        if path == "/v3":
            return self._send(200, {"version": v3})
        if path == "/compute":
            return self._send(200, {"versions": [nova]})
        if path == "/compute/v2.1":
            return self._send(200, {"version": nova})
        if path == "/v3/auth/tokens":
            self.fake.validations += 1
            if not self._authorized():
                return self._send(401, {"error": {"code": 401}})
            if self.headers.get("X-Subject-Token") not in self.fake.tokens:
                return self._send(404, {"error": {"code": 404, "message": "not found"}})
            return self._send(200, self.fake.token_body())
        if not self._authorized():
            return self._send(401, {"error": {"code": 401, "message": "unauthorized"}})
        if path in self.fake.raw_answers:
            status, data = self.fake.raw_answers[path]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        lists = {"/v3/users": {"users": [{"id": "u1", "name": "admin", "enabled": True,
                                          "domain_id": "default"}]},
                 "/v3/projects": {"projects": []}}
        if self.fake.with_compute:
            lists.update({"/compute/v2.1/servers": {"servers": []},
                          "/compute/v2.1/os-services": {"services": self.fake.services},
                          "/compute/v2.1/os-hypervisors": {"hypervisors":
                                                           self.fake.hypervisors}})
        if path in lists:
            return self._send(200, lists[path])
        self._send(404, {"error": {"code": 404}})


def write_inventory(tmp_path, fake_cloud) -> str:
    """An inventory of this machine (local transport) whose cloud is the fake one."""
    clouds = fake_cloud.clouds_yaml(tmp_path / "clouds.yaml")
    path = tmp_path / "inventory.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: local
        test_target: true
        cloud: fake
        clouds_yaml: {clouds}
        nodes:
          - name: local
            roles: [runner]
            address: 127.0.0.1
            transport: local
        """))
    return str(path)
