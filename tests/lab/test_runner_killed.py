"""kill -9 of a real ``ha-tests run`` against the lab, at each phase, for each fault kind.

SIGKILL runs no ``finally``: what is left is whatever the fault ledger on disk and the
node-side timers make of it. The moment of the kill is read from events.jsonl (flushed per
event), never guessed with a sleep. Afterwards ``ha-tests heal`` (or the start of the next
run) must leave the lab whole: every node on, services running, interfaces up, no tagged
iptables/nft rules, no netem qdisc, no timers or hogs left, the VIP held, the API answering.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from killed_mid_inject import kill_during_inject
from labcheck import api_steady, healthy, wait_for

from ha_tests.events import read_events

pytestmark = pytest.mark.lab

FAULTS = {
    # stop-service stays stopped until a rollback or a heal starts it again
    "stop-service": "type: stop-service\ntarget: victim\nservice: keystone",
    # the node-side timer would restore the link after 20 s: heal must not need it to
    "block-nic": "type: block-nic\ntarget: victim\ninterface: mgmt\nduration: 20",
    "partition": "type: partition\ntarget: victim\npeer_role: controller\nduration: 120",
    "power-off": "type: power-off\ntarget: victim\noff_timeout: 10",
    "restart-service": "type: restart-service\ntarget: victim\nservice: keystone",
    "kill-process": "type: kill-process\ntarget: victim\nservice: keystone",
    "freeze-process": "type: freeze-process\ntarget: victim\nservice: keystone\nduration: 120",
    "cpu-hog": "type: cpu-hog\ntarget: victim\nworkers: 1\nduration: 120",
    "memory-hog": "type: memory-hog\ntarget: victim\nmib: 16\nduration: 120",
    "disk-fill": "type: disk-fill\ntarget: victim\ndir: /var/tmp\nmib: 8\nmin_free_percent: 1"
                 "\nduration: 120",
    "io-stall": "type: io-stall\ntarget: victim\ndir: /var/tmp\nwriters: 1\nmib: 4"
                "\nmin_free_percent: 1\nduration: 120",
}

PHASES = {  # when to pull the trigger: the first event that matches
    "before-inject": lambda e: e["kind"] == "phase" and e.get("phase") == "baseline",
    "after-inject": lambda e: e["kind"] == "attack" and e.get("action") == "injected",
    "observe": lambda e: e["kind"] == "phase" and e.get("phase") == "observe",
    "rollback": lambda e: e["kind"] == "attack" and e.get("action") == "rollback-start",
}

#: the "kill -9 during inject" column: every attacker the lab can run (netem needs a kernel
#: with sch_netem, which the lab's host lacks: tests/attackers/test_netem_killed_mid_inject.py)
DURING_INJECT = ["stop-service", "restart-service", "kill-process", "freeze-process",
                 "block-nic", "partition", "power-off", "cpu-hog", "memory-hog", "disk-fill",
                 "io-stall"]

CASES = [("stop-service", phase) for phase in PHASES] + [
    ("block-nic", "after-inject"), ("block-nic", "rollback"), ("power-off", "after-inject"),
    ("power-off", "rollback"), ("partition", "after-inject")]


def scenario(tmp_path: Path, fault: str, hold: float) -> Path:
    path = tmp_path / f"killed-{fault}.yaml"
    path.write_text(textwrap.dedent("""\
        name: killed-runner-{fault}
        description: the runner is killed with SIGKILL in the middle of this one
        gap: classic
        targets:
          victim: {{role: controller, pick: not-vip-holder}}
        attackers:
          - {attacker}
        monitors:
          - type: api
            name: identity-api
            service: identity
            interval: 0.5
            timeout: 3
            gate: false
        timing:
          baseline: 1
          fault_duration: {hold}
          observe: 3
          recovery_timeout: 60
        """).format(fault=fault, hold=hold,
                    attacker=FAULTS[fault].replace("\n", "\n    ")))
    return path


def env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, HA_TESTS_STATE_DIR=str(tmp_path / "state"))


def start_run(lab, tmp_path, path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i", str(lab.inventory_path),
         "-r", str(tmp_path / "results"), str(path)], env=env(tmp_path),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_when(proc: subprocess.Popen, results: Path, predicate, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in results.glob("*/events.jsonl"):
            for event in read_events(log):
                if predicate(event):
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(10)
                    return event
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the moment came: {proc.stderr.read()[-2000:]}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the moment to kill the runner never came")


def netns_run(lab, node: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", lab.plan.node(node).netns, *argv],
                          capture_output=True, text=True, timeout=20).stdout


def leftovers(lab) -> list[str]:
    """What a fault could leave behind, looked for on every node from the host."""
    found = []
    for node in lab.plan.nodes:
        name = node.name
        links = netns_run(lab, name, "ip", "-o", "link", "show", "br-mgmt")
        if "state UP" not in links and ",UP" not in links:
            found.append(f"{name}: br-mgmt is down ({links.strip()})")
        for tool in (["iptables-save"], ["ip6tables-save"], ["nft", "list", "ruleset"]):
            if "ha-tests" in netns_run(lab, name, *tool):
                found.append(f"{name}: tagged rules left in {tool[0]}")
        if "netem" in netns_run(lab, name, "tc", "qdisc", "show"):
            found.append(f"{name}: a netem qdisc is left")
        from ha_tests.lab.system import cmdline
        tagged = [pid for pid in lab.power(name).node_processes() if "ha-tests:" in cmdline(pid)]
        if tagged:
            found.append(f"{name}: tagged processes left (timers or hogs): {tagged}")
    return found


def lab_whole(lab) -> list[str]:
    problems = leftovers(lab)
    if not healthy(lab):
        problems.append("not healthy: a node off, a service down, no VIP or no API")
    return problems


def settled(lab) -> bool:
    return not lab_whole(lab) and api_steady(lab)


@pytest.fixture
def whole_lab(lab):
    assert wait_for(lambda: settled(lab), 120, interval=1), lab_whole(lab)
    yield lab
    # whatever the test did, the next one starts from a whole, steady lab
    if lab_whole(lab):
        subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal", "-i",
                        str(lab.inventory_path)], timeout=300)
    assert wait_for(lambda: settled(lab), 120, interval=1), lab_whole(lab)


def names_a_step(tmp_path: Path) -> bool:
    """The ledger says what inject is about to change (a node, PIDs, a timer's routes)."""
    for path in (tmp_path / "state" / "ledger").glob("*.json"):
        try:
            state = json.loads(path.read_text()).get("state") or {}
        except (OSError, ValueError):
            continue
        if any(isinstance(v, (dict, list)) and v for v in state.values()):
            return True
    return False


@pytest.mark.parametrize(("fault", "phase"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_kill_9_then_heal_leaves_the_lab_whole(whole_lab, tmp_path, fault, phase):
    lab = whole_lab
    hold = 4 if phase == "rollback" else 60
    proc = start_run(lab, tmp_path, scenario(tmp_path, fault, hold))
    kill_when(proc, tmp_path / "results", PHASES[phase])
    ledger = list((tmp_path / "state" / "ledger").glob("*.json"))
    if phase == "before-inject":
        assert ledger == []  # nothing was injected, nothing is owed
    else:
        assert ledger, "a fault was injected but the ledger holds nothing"
    heal_then_whole(lab, tmp_path, expect_healed=phase != "before-inject")


@pytest.mark.parametrize("fault", DURING_INJECT)
def test_kill_9_during_inject_then_heal_leaves_the_lab_whole(whole_lab, tmp_path, fault):
    lab = whole_lab
    proc = start_run(lab, tmp_path, scenario(tmp_path, fault, 60))
    # once the ledger names a step of inject
    kill_during_inject(proc, tmp_path / "results", lambda: names_a_step(tmp_path), timeout=90)
    # whole now: the node-side timers (120 s) must not be what heals it
    heal_then_whole(lab, tmp_path, expect_healed=True, settle=60)


def heal_then_whole(lab, tmp_path: Path, *, expect_healed: bool, settle: float = 120) -> None:
    """``ha-tests heal``, then the lab is whole (within ``settle`` s: a node powered on still
    boots), the ledger empty, and a second heal has nothing to do."""
    healed = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal", "-i",
                             str(lab.inventory_path)], env=env(tmp_path), capture_output=True,
                            text=True, timeout=300)
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert ("healed" in healed.stdout) == expect_healed, healed.stdout
    assert wait_for(lambda: not lab_whole(lab), settle, interval=1), lab_whole(lab)
    assert list((tmp_path / "state" / "ledger").glob("*.json")) == []
    # heal is idempotent: a second one finds nothing to do
    again = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], env=env(tmp_path),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to heal" in again.stdout


def test_the_next_run_heals_what_a_killed_runner_left(whole_lab, tmp_path):
    lab = whole_lab
    proc = start_run(lab, tmp_path, scenario(tmp_path, "partition", 60))
    event = kill_when(proc, tmp_path / "results", PHASES["after-inject"])
    victim = next(iter(event.get("detail", {}).get("nodes", {}) or [None]), None)
    assert leftovers(lab), "the partition should still be in force after the kill"
    harmless = tmp_path / "harmless.yaml"
    harmless.write_text(textwrap.dedent("""\
        name: harmless
        description: no fault; its start must heal the orphan first
        gap: classic
        monitors:
          - {type: api, name: identity-api, service: identity, interval: 0.5, timeout: 3}
        timing: {baseline: 0.5, observe: 0.5}
        """))
    done = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i",
                           str(lab.inventory_path), "-r", str(tmp_path / "r2"), str(harmless)],
                          env=env(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (victim, done.stderr[-3000:])
    assert "heal" in done.stderr.lower()
    assert wait_for(lambda: not lab_whole(lab), 120, interval=1), lab_whole(lab)
