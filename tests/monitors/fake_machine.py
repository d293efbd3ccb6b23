"""A local "machine" with a real BMC and a real SSH server, for host-status and power tests.

The machine's "power" is an sshd on a loopback port, PID 1 of its own PID namespace: on()
starts it, off() kills it and every process it started (its connections die, as with a
power cut). ``SshdMachine`` is also
a power driver for ``python -m ha_tests.lab.vbmc``, so the tests switch it over real IPMI
(pyghmi or ipmitool against the lab's virtual BMC), exactly as on the lab.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BMC_USER = "admin"
BMC_PASSWORD = "bmc-secret-pw-42"


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _tree(pid: int) -> list[int]:
    result = [pid]
    for child in _children(pid):
        result.extend(_tree(child))
    return result


class SshdMachine:
    """Power driver (see ha_tests.lab.vbmc.PowerDriver) whose "host" is an sshd."""

    def __init__(self, node_name: str, state_dir: str, port: int):
        self.node_name = node_name
        self.dir = Path(state_dir)
        self.port = int(port)
        self.pidfile = self.dir / "sshd.pid"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
            return pid
        except (OSError, ValueError):
            return None

    def state(self) -> bool:
        return self._pid() is not None

    def on(self) -> None:
        if self.state():
            return
        os.makedirs("/run/sshd", exist_ok=True)
        proc = subprocess.Popen(
            # its own PID namespace and /proc, as a lab node: each boot has a new PID 1
            ["unshare", "--pid", "--fork", "--mount-proc",
             "/usr/sbin/sshd", "-D", "-e", "-p", str(self.port), "-f", "/dev/null",
             "-h", str(self.dir / "host_key"), "-o", "ListenAddress=127.0.0.1",
             "-o", f"AuthorizedKeysFile={self.dir / 'authorized_keys'}",
             "-o", "StrictModes=no", "-o", "UsePAM=no", "-o", "PermitRootLogin=yes",
             "-o", f"PidFile={self.dir / 'sshd-own.pid'}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "sshd.log", "ab"), start_new_session=True)
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start")

    def off(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        for each in reversed(_tree(pid)):
            try:
                os.kill(each, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # started by another process (the test, or the vbmc)
            pass
        deadline = time.monotonic() + 5
        while self._pid() is not None and time.monotonic() < deadline:
            time.sleep(0.01)  # until it is a zombie or gone: "off" means off

    def cycle(self) -> None:
        self.off()
        time.sleep(0.3)
        self.on()

    def reset(self) -> None:
        self.off()
        self.on()

    def soft_off(self) -> None:
        self.off()


class FakeMachine:
    """An sshd "host" plus a virtual BMC process driving it; see the module docstring."""

    def __init__(self, state_dir: Path, name: str = "m1"):
        self.name = name
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ssh_port = free_port()
        self.bmc_port = free_port(socket.SOCK_DGRAM)
        self.power = SshdMachine(name, str(self.dir), self.ssh_port)
        self.vbmc: subprocess.Popen | None = None

    def prepare(self) -> FakeMachine:
        for key, kind in (("host_key", "ed25519"), ("client_key", "ed25519")):
            if not (self.dir / key).exists():
                subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f",
                                str(self.dir / key)], check=True)
        (self.dir / "authorized_keys").write_text((self.dir / "client_key.pub").read_text())
        host_pub = (self.dir / "host_key.pub").read_text().split()
        (self.dir / "known_hosts").write_text(
            f"[127.0.0.1]:{self.ssh_port} {host_pub[0]} {host_pub[1]}\n")
        password_file = self.dir / "bmc-password"
        password_file.write_text(BMC_PASSWORD)
        password_file.chmod(0o600)
        (self.dir / "vbmc.json").write_text(json.dumps({
            "username": BMC_USER, "password_file": str(password_file),
            "power_driver": "fake_machine:SshdMachine",
            "power_args": {"state_dir": str(self.dir), "port": self.ssh_port},
            "nodes": [{"name": self.name, "address": "127.0.0.1", "port": self.bmc_port}]}))
        return self

    def start(self) -> FakeMachine:
        self.prepare()
        self.power.on()
        return self.start_bmc()

    def stop_bmc(self) -> None:
        if self.vbmc is not None:
            self.vbmc.terminate()
            try:
                self.vbmc.wait(5)
            except subprocess.TimeoutExpired:
                self.vbmc.kill()
                self.vbmc.wait()
            self.vbmc = None

    def start_bmc(self) -> FakeMachine:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent),
                                             str(Path(__file__).parents[2])])
        self.vbmc = subprocess.Popen(
            [sys.executable, "-m", "ha_tests.lab.vbmc", "--config", str(self.dir / "vbmc.json"),
             "--log-level", "WARNING"], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "vbmc.log", "ab"))
        # ready when its UDP port is bound (Python start-up and pyghmi's import take a while on
        # a loaded host; a fixed pause was too short under CI load)
        deadline = time.monotonic() + 20
        while not udp_port_bound(self.bmc_port):
            if self.vbmc.poll() is not None:
                raise RuntimeError("vbmc died: " + (self.dir / "vbmc.log").read_text()[-500:])
            if time.monotonic() > deadline:
                raise RuntimeError(f"vbmc did not bind UDP port {self.bmc_port} in 20 s")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.stop_bmc()
        self.power.off()

    def inventory(self, bmc_client: str = "pyghmi", **extra) -> dict:
        node = {"name": self.name, "roles": ["compute"], "address": "127.0.0.1",
                "ssh": {"port": self.ssh_port},
                "bmc": {"type": "ipmi", "address": "127.0.0.1", "port": self.bmc_port,
                        "username": BMC_USER, "password": BMC_PASSWORD,
                        "client": bmc_client}}
        inventory = {"name": "fake", "test_target": True,
                     "ssh": {"user": "root", "key_file": str(self.dir / "client_key"),
                             "known_hosts": str(self.dir / "known_hosts"),
                             "connect_timeout": 2},
                     "nodes": [node]}
        inventory.update(extra)
        return inventory


def udp_port_bound(port: int) -> bool:
    """Whether some socket of this network namespace is bound to the UDP port."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table) as handle:
                next(handle)
                if any(line.split()[1].endswith(wanted) for line in handle):
                    return True
        except OSError:
            continue
    return False
