"""The lab's virtual BMC against real IPMI clients: pyghmi (via ha_tests.bmc.ipmi) and ipmitool.

Each BMC drives a real process (``sleep``): power off SIGKILLs it, power on starts a new one,
so every test checks what really happened to a process, not a flag.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ha_tests.bmc import BmcAuthError, BmcError, BmcTimeout, connect
from ha_tests.bmc.ipmi import IpmiBmc
from ha_tests.lab.vbmc import LabBmc, serve_bmcs

pytestmark = pytest.mark.skipif(shutil.which("ipmitool") is None, reason="needs ipmitool")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
USER = "admin"
CLIENTS = ["pyghmi", "ipmitool"]


class ProcessNode:
    """A power driver whose "node" is a real process; ``pid_dir`` (optional) records its PID."""

    def __init__(self, name: str, pid_dir: str | None = None, off_delay: float = 0.0):
        self.name = name
        self.pid_dir = Path(pid_dir) if pid_dir else None
        self.off_delay = off_delay
        self.process: subprocess.Popen | None = None
        self.calls: list[str] = []
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        # Own session and no inherited stdio: the "node" must not hold its parent's pipes.
        self.process = subprocess.Popen(["sleep", "1000"], start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        if self.pid_dir:
            (self.pid_dir / f"{self.name}.pid").write_text(str(self.process.pid))

    def _kill(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(5)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.state() else None

    def state(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def on(self) -> None:
        with self._lock:
            self.calls.append("on")
            if not self.state():
                self._start()

    def off(self) -> None:
        with self._lock:
            self.calls.append("off")
            time.sleep(self.off_delay)
            self._kill(signal.SIGKILL)

    def cycle(self) -> None:
        with self._lock:
            self.calls.append("cycle")
            self._kill(signal.SIGKILL)
            self._start()

    def reset(self) -> None:
        with self._lock:
            self.calls.append("reset")
            self._kill(signal.SIGKILL)
            self._start()

    def soft_off(self) -> None:
        with self._lock:
            self.calls.append("soft_off")
            self._kill(signal.SIGTERM)

    def destroy(self) -> None:
        self._kill(signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1][:1] not in ("Z", "X")
    except FileNotFoundError:
        return False


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def ipmitool(port: int, password: str, *args: str, user: str = USER,
             timeout: float = 15) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "IPMITOOL_PASSWORD"}
    env["IPMI_PASSWORD"] = password
    return subprocess.run(["ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", str(port),
                           "-U", user, "-E", "-N", "1", "-R", "1", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(autouse=True)
def settle_abandoned_pyghmi_calls():
    """Let pyghmi calls abandoned at their timeout end before the next test.

    pyghmi's client shares one event loop per process; a login still retrying against a
    silent BMC stalls other pyghmi calls (the reason ipmitool is the default client).
    """
    yield
    for thread in threading.enumerate():
        if thread.name == "ipmi-call":
            thread.join(10)


@pytest.fixture
def password() -> str:
    return "pw-" + secrets.token_hex(8)


@pytest.fixture
def node():
    process_node = ProcessNode("node1")
    yield process_node
    process_node.destroy()


@pytest.fixture
def bmc_port(node, password):
    lab_bmc = LabBmc("node1", node, USER, password, address="127.0.0.1", port=0)
    with serve_bmcs([lab_bmc]):
        yield lab_bmc.port


def client_for(port: int, password: str, client: str, timeout: float = 5.0) -> IpmiBmc:
    return connect({"type": "ipmi", "address": "127.0.0.1", "port": port, "username": USER,
                    "password": password, "client": client, "timeout": timeout})


@pytest.mark.parametrize("client", CLIENTS)
def test_power_actions_drive_the_real_process(client, node, bmc_port, password):
    bmc = client_for(bmc_port, password, client)
    first_pid = node.pid
    assert bmc.power_state() == "on"

    bmc.power_off()
    assert not pid_alive(first_pid)
    assert bmc.power_state() == "off"

    bmc.power_on()
    second_pid = node.pid
    assert second_pid and second_pid != first_pid and pid_alive(second_pid)
    assert bmc.power_state() == "on"

    bmc.power_cycle()
    third_pid = node.pid
    assert not pid_alive(second_pid) and third_pid and pid_alive(third_pid)

    bmc.power_reset()
    fourth_pid = node.pid
    assert not pid_alive(third_pid) and fourth_pid and pid_alive(fourth_pid)

    bmc.power_soft()
    assert not pid_alive(fourth_pid)
    assert bmc.power_state() == "off"
    assert node.calls == ["off", "on", "cycle", "reset", "soft_off"]


@pytest.mark.parametrize("suite", [None, "3", "17"])
def test_ipmitool_lanplus_with_each_cipher_suite(suite, node, bmc_port, password):
    cipher = ["-C", suite] if suite else []
    status = ipmitool(bmc_port, password, *cipher, "chassis", "power", "status")
    assert status.returncode == 0, status.stderr
    assert "Chassis Power is on" in status.stdout
    pid = node.pid

    off = ipmitool(bmc_port, password, *cipher, "chassis", "power", "off")
    assert off.returncode == 0, off.stderr
    assert not pid_alive(pid)
    assert "Chassis Power is off" in ipmitool(bmc_port, password, *cipher,
                                              "chassis", "power", "status").stdout

    assert ipmitool(bmc_port, password, *cipher, "chassis", "power", "on").returncode == 0
    assert node.state() and node.pid != pid
    pid = node.pid
    assert ipmitool(bmc_port, password, *cipher, "chassis", "power", "cycle").returncode == 0
    assert not pid_alive(pid) and node.state()
    pid = node.pid
    assert ipmitool(bmc_port, password, *cipher, "chassis", "power", "reset").returncode == 0
    assert not pid_alive(pid) and node.state()


def test_unsupported_cipher_suite_is_refused_cleanly(bmc_port, password):
    # Suite 1 (no integrity, no encryption): the BMC answers "no cipher suite match"
    # instead of silently substituting suite 3, which is what broke pyghmi's client.
    done = ipmitool(bmc_port, password, "-C", "1", "chassis", "power", "status")
    assert done.returncode != 0
    assert "Chassis Power" not in done.stdout


def test_pyghmi_falls_back_to_suite_3_when_17_is_refused(node, password):
    class Suite3OnlyBmc(LabBmc):
        cipher_suites = (3,)

    lab_bmc = Suite3OnlyBmc("node1", node, USER, password, port=0)
    with serve_bmcs([lab_bmc]):
        bmc = client_for(lab_bmc.port, password, "pyghmi")
        assert bmc.power_state() == "on"
        bmc.power_off()
        assert not node.state()
        refused = ipmitool(lab_bmc.port, password, "-C", "17", "chassis", "power", "status")
        assert refused.returncode != 0
        assert "Chassis Power is off" in ipmitool(lab_bmc.port, password,
                                                  "chassis", "power", "status").stdout


def test_pyghmi_negotiates_suite_17_then_reuses_its_session(bmc_port, password, monkeypatch):
    """Counted at the BMC, not timed: 20 more calls open no session of their own."""
    opened = []
    new_session_id = LabBmc.new_session_id
    monkeypatch.setattr(LabBmc, "new_session_id",
                        lambda self: opened.append(1) or new_session_id(self))
    bmc = client_for(bmc_port, password, "pyghmi")
    bmc.power_state()
    assert len(opened) == 1
    for _ in range(20):
        assert bmc.power_state() == "on"
    assert len(opened) == 1


@pytest.mark.parametrize("client", CLIENTS)
def test_wrong_password_is_a_clear_auth_error(client, bmc_port, password):
    wrong = "wrong-" + secrets.token_hex(6)
    bmc = client_for(bmc_port, wrong, client)
    with pytest.raises(BmcAuthError) as caught:
        bmc.power_state()
    message = str(caught.value)
    assert f"127.0.0.1:{bmc_port}" in message and "login refused" in message
    assert wrong not in message and password not in message
    assert wrong not in repr(caught.value) and wrong not in repr(bmc)


@pytest.mark.parametrize("client", CLIENTS)
def test_unknown_user_is_a_clear_auth_error(client, bmc_port, password):
    bmc = connect({"type": "ipmi", "address": "127.0.0.1", "port": bmc_port,
                   "username": "nobody", "password": password, "client": client})
    with pytest.raises(BmcAuthError, match="nobody"):
        bmc.power_off()


@pytest.mark.parametrize("client", CLIENTS)
def test_unreachable_bmc_times_out_within_the_timeout(client, password):
    port = free_udp_port()  # nothing listens there
    bmc = client_for(port, password, client, timeout=1.5)
    started = time.monotonic()
    with pytest.raises(BmcTimeout) as caught:
        bmc.power_state()
    assert time.monotonic() - started >= 1.0  # it waited for its timeout, not less
    assert f"127.0.0.1:{port}" in str(caught.value) and password not in str(caught.value)


def test_silent_bmc_does_not_slow_calls_to_other_bmcs(node, bmc_port, password):
    # The default client (ipmitool) isolates calls: one BMC timing out in another thread
    # leaves the live BMC's calls fast.
    silent = connect({"type": "ipmi", "address": "127.0.0.1", "port": free_udp_port(),
                      "username": USER, "password": password, "timeout": 2})
    live = connect({"type": "ipmi", "address": "127.0.0.1", "port": bmc_port,
                    "username": USER, "password": password})
    assert live.client == "ipmitool"
    stalled = threading.Thread(target=lambda: pytest.raises(BmcTimeout, silent.power_state))
    stalled.start()
    answered_meanwhile = 0
    try:
        while stalled.is_alive():
            assert live.power_state() == "on"
            answered_meanwhile += stalled.is_alive()
    finally:
        stalled.join()
    # counted, not timed: calls queued behind the silent BMC (pyghmi here) would all end
    # after it gave up, none while it was still waiting
    assert answered_meanwhile >= 1


def test_password_never_in_any_command_line_while_ipmitool_runs(node, password):
    # A slow power-off keeps ipmitool waiting, so the scan surely sees it running.
    node.off_delay = 0.3
    lab_bmc = LabBmc("node1", node, USER, password, port=0)
    seen_ipmitool = []
    leaked = []
    done = threading.Event()

    def scan() -> None:
        while not done.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    cmdline = Path(entry.path, "cmdline").read_bytes()
                except OSError:
                    continue
                if b"ipmitool" in cmdline:
                    seen_ipmitool.append(cmdline)
                if password.encode() in cmdline:
                    leaked.append(cmdline)
            time.sleep(0.005)

    with serve_bmcs([lab_bmc]):
        scanner = threading.Thread(target=scan)
        scanner.start()
        try:
            client_for(lab_bmc.port, password, "ipmitool").power_off()
        finally:
            done.set()
            scanner.join()
    assert seen_ipmitool, "the scan never saw ipmitool running"
    assert any(b"-E" in cmdline.split(b"\0") for cmdline in seen_ipmitool)
    assert not leaked


def test_slow_power_driver_answers_promptly_and_acts_once(node, password):
    node.off_delay = 4.0
    lab_bmc = LabBmc("node1", node, USER, password, port=0, ack_within=0.3)
    with serve_bmcs([lab_bmc]):
        bmc = client_for(lab_bmc.port, password, "pyghmi")
        bmc.power_off()
        assert bmc.power_state() == "on"  # answered before the 4 s action ended
        assert wait_for(lambda: bmc.power_state() == "off", timeout=8)
    assert node.calls == ["off"]


def test_retransmitted_chassis_control_runs_once(node, password):
    lab_bmc = LabBmc("node1", node, USER, password, port=0)
    answers = []

    class FakeSession:
        seqlun, clientnetfn, clientcommand = 5, 1, 2
        sockaddr = ("127.0.0.1", 40000)

        def send_ipmi_response(self, data=(), code=0):
            answers.append(code)

    session = FakeSession()
    try:
        for _ in range(2):
            lab_bmc.control_chassis({"data": bytearray([2])}, session)
        session.seqlun = 6
        lab_bmc.control_chassis({"data": bytearray([2])}, session)
    finally:
        lab_bmc.close()
    assert answers == [0, 0, 0]
    assert node.calls == ["cycle", "cycle"]


def test_several_bmcs_in_one_process_drive_their_own_nodes(password):
    nodes = [ProcessNode(f"n{i}") for i in range(3)]
    bmcs = [LabBmc(n.name, n, USER, password, port=0) for n in nodes]
    try:
        with serve_bmcs(bmcs):
            clients = [client_for(b.port, password, c)
                       for b, c in zip(bmcs, ["pyghmi", "ipmitool", "pyghmi"], strict=True)]
            errors = []

            def power_off(bmc):
                try:
                    bmc.power_off()
                except BmcError as error:
                    errors.append(error)

            threads = [threading.Thread(target=power_off, args=(c,)) for c in clients[:2]]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not errors
            assert [n.state() for n in nodes] == [False, False, True]
            assert [c.power_state() for c in clients] == ["off", "off", "on"]
    finally:
        for process_node in nodes:
            process_node.destroy()


def test_connect_rejects_bad_configs(tmp_path, password):
    with pytest.raises(BmcError, match="unknown bmc type"):
        connect({"type": "snmp", "address": "10.0.0.1", "username": USER, "password": "x"})
    with pytest.raises(BmcError, match="unknown bmc field"):
        connect({"type": "ipmi", "address": "10.0.0.1", "username": USER, "password": "x",
                 "passwd": "x"})
    with pytest.raises(BmcError, match="unknown ipmi client"):
        connect({"type": "ipmi", "address": "10.0.0.1", "username": USER, "password": "x",
                 "client": "freeipmi"})
    loose = tmp_path / "loose"
    loose.write_text(password)
    loose.chmod(0o644)
    with pytest.raises(BmcError, match="0600") as caught:
        connect({"type": "ipmi", "address": "10.0.0.1", "username": USER,
                 "password_file": str(loose)})
    assert password not in str(caught.value)
    tight = tmp_path / "tight"
    tight.write_text(password + "\n")
    tight.chmod(0o600)
    bmc = connect({"type": "ipmi", "address": "10.0.0.1", "username": USER,
                   "password_file": str(tight), "client": "ipmitool"})
    assert bmc.client == "ipmitool" and password not in repr(bmc)


# --- the vbmc process -------------------------------------------------------------------


def write_vbmc_config(tmp_path: Path, password: str, ports: list[int]) -> Path:
    password_file = tmp_path / "bmc-password"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    config = {
        "username": USER,
        "password_file": str(password_file),
        "power_driver": "test_bmc_ipmi:ProcessNode",
        "power_args": {"pid_dir": str(pid_dir)},
        "nodes": [{"name": f"ctl{i + 1}", "address": "127.0.0.1", "port": port}
                  for i, port in enumerate(ports)],
    }
    path = tmp_path / "vbmc.json"
    path.write_text(json.dumps(config))
    return path


def start_vbmc(config: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(REPO)]))
    return subprocess.Popen([sys.executable, "-m", "ha_tests.lab.vbmc", "--config", str(config)],
                            env=env, stderr=subprocess.PIPE, text=True)


def test_vbmc_process_serves_ipmitool_and_stops_on_sigterm(tmp_path, password):
    ports = [free_udp_port(), free_udp_port()]
    config = write_vbmc_config(tmp_path, password, ports)
    pid_dir = tmp_path / "pids"
    vbmc = start_vbmc(config)
    watchdog = threading.Timer(30, vbmc.kill)  # never hang the suite on a stuck vbmc
    watchdog.start()
    log_lines: list[str] = []
    try:
        for line in vbmc.stderr:
            log_lines.append(line)
            if "serving 2 BMC(s)" in line:
                break
        assert vbmc.poll() is None, "".join(log_lines)
        first = int((pid_dir / "ctl1.pid").read_text())
        second = int((pid_dir / "ctl2.pid").read_text())
        assert pid_alive(first) and pid_alive(second)

        assert "Chassis Power is on" in ipmitool(ports[0], password, "chassis", "power",
                                                 "status").stdout
        assert ipmitool(ports[0], password, "chassis", "power", "off").returncode == 0
        assert not pid_alive(first) and pid_alive(second)
        assert "Chassis Power is off" in ipmitool(ports[0], password, "chassis", "power",
                                                  "status").stdout
        assert ipmitool(ports[0], password, "chassis", "power", "on").returncode == 0
        restarted = int((pid_dir / "ctl1.pid").read_text())
        assert restarted != first and pid_alive(restarted)
        assert client_for(ports[1], password, "pyghmi").power_state() == "on"

        vbmc.send_signal(signal.SIGTERM)
        assert vbmc.wait(10) == 0
        log_lines.extend(vbmc.stderr.read())
        log = "".join(log_lines)
        assert "chassis power off" in log and "stopped" in log
        assert password not in log
    finally:
        watchdog.cancel()
        if vbmc.poll() is None:
            vbmc.kill()
            vbmc.wait()
        vbmc.stderr.close()
        for pid_file in pid_dir.glob("*.pid"):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_vbmc_refuses_a_group_readable_password_file(tmp_path, password):
    config = write_vbmc_config(tmp_path, password, [free_udp_port()])
    (tmp_path / "bmc-password").chmod(0o640)
    vbmc = start_vbmc(config)
    try:
        _, stderr = vbmc.communicate(timeout=20)
    finally:
        if vbmc.poll() is None:
            vbmc.kill()
            vbmc.wait()
    assert vbmc.returncode == 2
    assert "0640" in stderr and "0600" in stderr and password not in stderr
    assert not list((tmp_path / "pids").glob("*.pid"))  # no node was started
