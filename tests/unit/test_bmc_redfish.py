"""ha_tests.bmc.redfish (sushy) against a tiny but real Redfish service on 127.0.0.1.

The service implements the few resources sushy reads (service root, Systems collection, one
ComputerSystem and its Reset action) and drives a real ``sleep`` process: ForceOff SIGKILLs
it, On starts a new one, so the tests check what happened to a process.
"""

from __future__ import annotations

import base64
import json
import secrets
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ha_tests.bmc import BmcAuthError, BmcTimeout, connect

USER = "admin"
SYSTEM = "/redfish/v1/Systems/1"
RESET_TARGET = SYSTEM + "/Actions/ComputerSystem.Reset"
ALLOWED_RESETS = ["On", "ForceOff", "ForceRestart", "GracefulShutdown", "PowerCycle"]


class ProcessSystem:
    """The managed "server": a real process, on while it runs."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.resets: list[str] = []
        self.start()

    def start(self) -> None:
        if not self.powered():
            self.process = subprocess.Popen(["sleep", "1000"], start_new_session=True,
                                            stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.powered():
            self.process.send_signal(sig)
            self.process.wait(5)

    def powered(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self, reset_type: str) -> None:
        self.resets.append(reset_type)
        if reset_type == "On":
            self.start()
        elif reset_type == "ForceOff":
            self.stop()
        elif reset_type == "GracefulShutdown":
            self.stop(signal.SIGTERM)
        elif reset_type in ("ForceRestart", "PowerCycle"):
            self.stop()
            self.start()
        else:
            raise ValueError(reset_type)


def make_handler(system: ProcessSystem, password: str, allowed_resets: list[str]):
    expected_auth = "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()

    class RedfishHandler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so a client never reuses a closed one.
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: dict | None = None) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") == expected_auth:
                return True
            self._send(401, {"error": {"code": "Base.1.0.GeneralError",
                                       "message": "authentication required"}})
            return False

        def do_GET(self):
            path = self.path.rstrip("/")
            if path == "/redfish/v1":  # the service root is public, as the standard says
                return self._send(200, {
                    "@odata.id": "/redfish/v1/", "@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot",
                    "Id": "RootService", "Name": "Tiny Redfish", "RedfishVersion": "1.6.0",
                    "UUID": "92384634-2938-2342-8820-489239905423",
                    "Systems": {"@odata.id": "/redfish/v1/Systems"},
                })
            if not self._authorized():
                return None
            if path == "/redfish/v1/Systems":
                return self._send(200, {
                    "@odata.id": "/redfish/v1/Systems",
                    "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
                    "Name": "Systems", "Members@odata.count": 1,
                    "Members": [{"@odata.id": SYSTEM}],
                })
            if path == SYSTEM:
                return self._send(200, {
                    "@odata.id": SYSTEM, "@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem",
                    "Id": "1", "Name": "node1",
                    "PowerState": "On" if system.powered() else "Off",
                    "Actions": {"#ComputerSystem.Reset": {
                        "target": RESET_TARGET,
                        "ResetType@Redfish.AllowableValues": allowed_resets}},
                })
            return self._send(404, {"error": {"code": "Base.1.0.ResourceMissingAtURI",
                                              "message": self.path}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not self._authorized():
                return None
            if self.path != RESET_TARGET:
                return self._send(404, {"error": {"message": self.path}})
            reset_type = body.get("ResetType")
            if reset_type not in allowed_resets:
                return self._send(400, {"error": {"message": f"bad ResetType {reset_type}"}})
            system.reset(reset_type)
            return self._send(204)

    return RedfishHandler


@pytest.fixture
def password() -> str:
    return "pw-" + secrets.token_hex(8)


def serve(system: ProcessSystem, password: str, allowed_resets=ALLOWED_RESETS):
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 make_handler(system, password, allowed_resets))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def redfish(password):
    system = ProcessSystem()
    server, thread = serve(system, password)
    yield system, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()
    system.stop()


def bmc_for(url: str, password: str, **extra):
    return connect({"type": "redfish", "url": url, "username": USER, "password": password,
                    "system_id": SYSTEM, "verify": False, "timeout": 5, **extra})


def test_power_actions_drive_the_real_process(redfish, password):
    system, url = redfish
    bmc = bmc_for(url, password)
    pid = system.process.pid
    assert bmc.power_state() == "on"

    bmc.power_off()
    assert not system.powered() and bmc.power_state() == "off"

    bmc.power_on()
    assert system.powered() and system.process.pid != pid
    pid = system.process.pid

    bmc.power_reset()
    assert system.powered() and system.process.pid != pid
    pid = system.process.pid

    bmc.power_cycle()
    assert system.powered() and system.process.pid != pid

    bmc.power_soft()
    assert not system.powered() and bmc.power_state() == "off"
    assert system.resets == ["ForceOff", "On", "ForceRestart", "PowerCycle", "GracefulShutdown"]
    bmc.close()


def test_single_system_is_found_without_system_id(redfish, password):
    system, url = redfish
    bmc = connect({"type": "redfish", "url": url, "username": USER, "password": password,
                   "verify": False})
    assert bmc.power_state() == "on"


def test_cycle_falls_back_to_off_then_on(password):
    system = ProcessSystem()
    server, thread = serve(system, password, allowed_resets=["On", "ForceOff"])
    try:
        bmc = bmc_for(f"http://127.0.0.1:{server.server_address[1]}", password)
        pid = system.process.pid
        bmc.power_cycle()
        assert system.resets == ["ForceOff", "On"]
        assert system.powered() and system.process.pid != pid
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        system.stop()


def test_wrong_password_is_a_clear_auth_error(redfish, password):
    system, url = redfish
    wrong = "wrong-" + secrets.token_hex(6)
    with pytest.raises(BmcAuthError) as caught:
        bmc_for(url, wrong).power_off()
    assert url in str(caught.value) and "401" in str(caught.value)
    assert wrong not in str(caught.value) and password not in str(caught.value)
    assert system.powered() and system.resets == []


def test_unreachable_service_fails_quickly(password):
    with socket_port() as port:
        bmc = bmc_for(f"http://127.0.0.1:{port}", password, timeout=2)
        with pytest.raises(BmcTimeout) as caught:
            bmc.power_state()
    assert password not in str(caught.value)


class socket_port:
    """A TCP port with a bound socket that never listens: connections are refused."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc_info) -> None:
        self.sock.close()
