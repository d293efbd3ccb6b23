"""Node power, as a BMC sees it: ``NodePower(node, lab_dir)`` (contract: docs/contracts.rst).

Off is SIGKILL to the node's PID 1 (the kernel then kills every process of the node at once,
as a power cut does) *and* the node's cable pulled (the host side of its veth down), so peers
see silence and time out instead of getting a TCP reset from a still-living network stack.
On is the cable back and a fresh boot of the node. Everything needed is read from files under
the lab directory, so any process can drive the power (the virtual BMC daemon does).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import signal
import subprocess
import time
from pathlib import Path

from ha_tests.lab import hypervisor
from ha_tests.lab.system import (
    LabError,
    alive,
    cmdline,
    ip,
    kill,
    netns_pids,
    nspids,
    start_time,
    wait_until,
)

INIT_MODULE = "ha_tests.lab.nodeinit"
CYCLE_OFF_SECONDS = 1.0


def boot_argv(spec: dict, spec_path: str | Path) -> list[str]:
    """The command that boots a node: its netns, new PID/mount/UTS namespaces, nodeinit."""
    return ["ip", "netns", "exec", spec["netns"],
            "unshare", "--pid", "--fork", "--mount-proc", "--uts",
            spec["python"], "-m", INIT_MODULE, "--spec", str(spec_path)]


class NodePower:
    """Power control of one lab node."""

    def __init__(self, node: str, lab_dir: str | Path):
        self.node = node
        self.lab_dir = Path(lab_dir)
        self.dir = self.lab_dir / "nodes" / node
        self.spec_path = self.dir / "node.json"
        try:
            self.spec = json.loads(self.spec_path.read_text())
        except OSError as error:
            raise LabError(f"node {node}: no node description at {self.spec_path} "
                           f"({error.strerror}); is the lab up?") from None
        self.netns = self.spec["netns"]
        self.host_link = self.spec["host_link"]
        self._pid_file = self.dir / "init.pid"

    def __repr__(self) -> str:
        return f"NodePower({self.node!r}, {str(self.lab_dir)!r})"

    @contextlib.contextmanager
    def _locked(self):
        with open(self.dir / "power.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # -- finding the node's PID 1 -------------------------------------------------------------
    def _scan_init(self) -> tuple[int, int] | None:
        for pid in netns_pids(self.netns):
            levels = nspids(pid)
            if len(levels) == 2 and levels[1] == 1 and INIT_MODULE in cmdline(pid):
                started = start_time(pid)
                if started is not None:
                    return pid, started
        return None

    def init_process(self) -> tuple[int, int] | None:
        """(host PID, start time) of the node's PID 1, or None when the node is off."""
        try:
            pid, started = (int(x) for x in self._pid_file.read_text().split())
            if alive(pid, started):
                return pid, started
        except (OSError, ValueError):
            pass
        found = self._scan_init()
        if found:
            self._pid_file.write_text(f"{found[0]} {found[1]}\n")
        return found

    def node_processes(self) -> list[int]:
        """Host PIDs of the processes living in the node (its PID namespace)."""
        return [pid for pid in netns_pids(self.netns) if len(nspids(pid)) > 1]

    # -- the power interface ------------------------------------------------------------------
    def state(self) -> bool:
        return self.init_process() is not None

    def on(self) -> None:
        with self._locked():
            ip("link", "set", self.host_link, "up")
            if self.init_process():
                return
            argv = boot_argv(self.spec, self.spec_path)
            console = self.dir / "log" / "console.log"
            console.parent.mkdir(parents=True, exist_ok=True)
            try:
                hypervisor.spawn(self.lab_dir, argv, console)
            except OSError:
                # No hypervisor (half-torn-down lab): boot anyway, detached.
                with open(console, "ab") as log:
                    subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     start_new_session=True)
            found = wait_until(self._scan_init, timeout=15)
            if not found:
                raise LabError(f"node {self.node} did not boot; see {console}")
            self._pid_file.write_text(f"{found[0]} {found[1]}\n")

    def off(self) -> None:
        with self._locked():
            ip("link", "set", self.host_link, "down", check=False)
            found = self.init_process()
            if found:
                kill(found[0], signal.SIGKILL)
                wait_until(lambda: not alive(*found), timeout=5, interval=0.02)
            wait_until(lambda: not self.node_processes(), timeout=5, interval=0.05)
            self._pid_file.unlink(missing_ok=True)

    def cycle(self) -> None:
        self.off()
        time.sleep(CYCLE_OFF_SECONDS)
        self.on()

    def reset(self) -> None:
        self.off()
        self.on()

    def soft_off(self, timeout: float = 30.0) -> None:
        """ACPI-like shutdown: the node's init stops its services, then the power goes."""
        found = self.init_process()
        if found:
            kill(found[0], signal.SIGTERM)
            wait_until(lambda: not alive(*found), timeout=timeout, interval=0.1)
        self.off()
