"""kill -9 of a real ``ha-tests run`` while inject is under way, for every attacker that works
on real local processes; then ``ha-tests heal`` must leave this machine whole.

The fault matrix's "kill -9 during inject" column (docs/fault-matrix.rst). The moment is
observed from outside the runner (a stop under way, a timer armed, the ledger naming the
PIDs it is about to kill); the runner is then frozen with SIGSTOP, the events are read to
prove it had not finished injecting, and only then killed with SIGKILL. "Whole" is checked
from outside too: the services run, the web server answers and no process tagged
``ha-tests:`` that this test's runner started is left, without waiting for any node-side timer
(they are armed for a minute).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from killed_mid_inject import kill_during_inject
from local_target import answers

from ha_tests.inventory import load_inventory
from ha_tests.ledger import Ledger
from ha_tests.processes import find
from ha_tests.transport.local import LocalShell

#: a service manager whose stop takes seconds (a database flushing), marked while under way
SLOW_CTL = """\
#!/bin/sh
here="$(dirname "$0")"; pidf="$here/svc.pid"
running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$1" in
  start) running && exit 0
         setsid sh -c 'while :; do sleep 0.2; done' "$2" </dev/null >/dev/null 2>&1 &
         echo $! > "$pidf" ;;
  stop) touch "$here/stopping"; sleep 3
        running && kill -s KILL -- "-$(cat "$pidf")"; rm -f "$pidf" "$here/stopping" ;;
  status) running ;;
esac
"""


@dataclass
class Machine:
    """This machine as the target: a web server, a slow service, a directory to fill."""

    root: Path
    web_port: int
    marker: str
    ctl: Path
    state_dir: Path

    def service_runs(self) -> bool:
        return subprocess.run([str(self.ctl), "status"]).returncode == 0 and bool(
            find(LocalShell(), self.marker))

    def stopping(self) -> bool:
        return (self.ctl.parent / "stopping").exists()

    def ours(self, pid: int) -> bool:
        """Started (directly or not) by this test's runner or heal: it has our state dir."""
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"HA_TESTS_STATE_DIR={self.state_dir}".encode() in environ.split(b"\0")

    def tagged(self, what: str = "ha-tests:") -> list[int]:
        """Our processes whose command line carries an ha-tests tag (timers, hogs, commands)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if what in cmdline and self.ours(int(entry.name)):
                found.append(int(entry.name))
        return found

    def ledger_states(self) -> list[dict]:
        states = []
        for path in (self.state_dir / "ledger").glob("*.json"):
            try:
                states.append(json.loads(path.read_text()).get("state") or {})
            except (OSError, ValueError):
                continue
        return states

    def broken(self) -> list[str]:
        """What is not whole on this machine, looked at from outside the runner."""
        problems = []
        # a stop left running by the killed runner would stop the service again: let it end
        deadline = time.monotonic() + 30
        while self.stopping() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not self.service_runs():
            problems.append("the slow service is not running")
        if not answers(self.web_port):
            problems.append("the web server does not answer")
        stopped = [p.pid for p in find(LocalShell(), rf"http\.server {self.web_port} ")
                   if Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                   == "T"]
        if stopped:
            problems.append(f"web server processes still frozen: {stopped}")
        if self.tagged():
            problems.append(f"tagged processes left: {self.tagged()}")
        left = list((self.root / "fill").glob(".ha-tests-*"))
        if left:
            problems.append(f"files left: {left}")
        return problems


@pytest.fixture
def machine(tmp_path, web):
    marker = f"hat-slow-{uuid.uuid4().hex[:8]}"
    ctl = tmp_path / "svc" / "svcctl"
    ctl.parent.mkdir()
    ctl.write_text(SLOW_CTL)
    ctl.chmod(0o755)
    (tmp_path / "fill").mkdir()
    subprocess.run([str(ctl), "start", marker], check=True)
    made = Machine(tmp_path, web.port, marker, ctl, tmp_path / "state")
    yield made
    subprocess.run([str(ctl), "stop"], check=False)


def inventory(machine: Machine, web) -> Path:
    path = machine.root / "inventory.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: local
        test_target: true
        nodes:
          - name: local
            roles: [local, twin]
            address: 127.0.0.1
            transport: local
          # two more names for this machine: an inject over three nodes lasts long enough
          # to be caught between its steps even when each step is one quick command
          - {{name: twin-a, roles: [twin], address: 127.0.0.2, transport: local}}
          - {{name: twin-b, roles: [twin], address: 127.0.0.3, transport: local}}
        services:
          web:
            roles: [local, twin]
            process: '{web.pattern}'
            manager: command
            start: "{web.start_command}"
          slow:
            roles: [local]
            process: '{machine.marker}'
            manager: command
            start: "{machine.ctl} start {machine.marker}"
            stop: "{machine.ctl} stop"
            status: "{machine.ctl} status"
        """))
    return path


def scenario(machine: Machine, attacker: str) -> Path:
    path = machine.root / "killed-during-inject.yaml"
    path.write_text(textwrap.dedent("""\
        name: killed-during-inject
        description: the runner is killed with SIGKILL while this fault is being injected
        gap: classic
        targets:
          victim: {{role: local, pick: one}}
          twins: {{role: twin, pick: all}}
        attackers:
          - {attacker}
        monitors:
          - {{type: tcp, name: web, host: 127.0.0.1, port: {port}, interval: 0.2,
              timeout: 0.5, gate: false}}
        timing:
          baseline: 0.2
          fault_duration: 60
          observe: 0.5
          recovery_timeout: 10
        """).format(attacker=attacker.replace("@FILL", str(machine.root / "fill")),
                    port=machine.web_port))
    return path


def timer_armed(kind: str) -> Callable[[Machine], bool]:
    return lambda m: bool(m.tagged(f"ha-tests:{kind}.deadman:"))


#: attacker -> (its scenario entry, the moment inject is under way, seen from outside)
CASES: dict[str, tuple[str, Callable[[Machine], bool]]] = {
    "stop-service": ("{type: stop-service, target: victim, service: slow}",
                     Machine.stopping),
    "restart-service": ("{type: restart-service, target: victim, service: slow}",
                        Machine.stopping),
    # the PIDs are in the ledger before the kill: freeze the runner on the next node's step
    "kill-process": ("{type: kill-process, target: twins, service: web, "
                     "comes_back_within: 0.3, back_timeout: 10}",
                     lambda m: any(len(s.get("killed", {})) >= 1
                                   and any(s["killed"].values()) for s in m.ledger_states())),
    "freeze-process": ("{type: freeze-process, target: victim, service: web, duration: 60}",
                       timer_armed("freeze-process")),
    "cpu-hog": ("{type: cpu-hog, target: victim, workers: 1, duration: 60}",
                timer_armed("cpu-hog")),
    "memory-hog": ("{type: memory-hog, target: victim, mib: 16, duration: 60}",
                   timer_armed("memory-hog")),
    "disk-fill": ("{type: disk-fill, target: victim, dir: @FILL, mib: 8, min_free_percent: 1, "
                  "duration: 60}", timer_armed("disk-fill")),
    "io-stall": ("{type: io-stall, target: victim, dir: @FILL, writers: 1, mib: 4, "
                 "min_free_percent: 1, duration: 60}", timer_armed("io-stall")),
}


@pytest.mark.parametrize("fault", list(CASES))
def test_kill_9_during_inject_then_heal_leaves_the_machine_whole(machine, web, tmp_path,
                                                                 fault):
    entry, moment = CASES[fault]
    assert not machine.broken()
    inventory_file = inventory(machine, web)
    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i",
                             str(inventory_file), "-r", str(results),
                             str(scenario(machine, entry))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    kill_during_inject(proc, results, lambda: moment(machine), timeout=60)

    heal = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], capture_output=True,
                          text=True, timeout=120)
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert "healed" in heal.stdout, heal.stdout
    assert machine.broken() == []  # now, not when the node-side timers (60 s) fire
    assert Ledger().entries() == []


def test_an_entry_that_names_no_step_is_healed_from_its_nodes_not_called_healed(machine, web):
    """A state without its keys (nobody knows how far inject got): heal checks every node of
    the entry against the parameters, here by starting the stopped service."""
    inventory_file = inventory(machine, web)
    subprocess.run([str(machine.ctl), "stop"], check=True)
    assert not machine.service_runs()
    path = Ledger().record(scenario="s", attacker="stop-slow", plugin_type="stop-service",
                           params={"service": "slow"}, nodes=["local"],
                           inventory=load_inventory(inventory_file).identity, state={})
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "pid": 0}))  # its runner is gone

    heal = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], capture_output=True,
                          text=True, timeout=120)
    assert heal.returncode == 0 and "healed" in heal.stdout, heal.stdout + heal.stderr
    assert machine.service_runs()
