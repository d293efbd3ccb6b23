"""Discovery's systemd way against a real systemd: a QEMU guest whose PID 1 is Debian's
systemd, running Debian's own ``memcached.service`` and ``ssh.service`` (systemd_guest.py
says why that is faithful).

``ha-tests discover``, run as a user runs it on an inventory that names only the guest, finds
memcached and sshd as systemd units with ``systemctl`` to stop, start and ask them, and
changes nothing (systemd's MainPID, NRestarts and state of both units are as before).

A stop-service and a kill-process through ``ha-tests run`` on what it found, measured and
rolled back: systemd's own word says the unit really stopped and was started again, and that
the killed main process was restarted by systemd itself (the package's ``Restart=always``).

One boot for the module (TCG, on this shared 2-core machine: 2 minutes at load 11, 4 at
load 20, 8 at load 50).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import GuestPair, skip_without_a_guest
from systemd_guest import SystemdGuest, missing

from ha_tests.discovery.catalog import load_catalog
from ha_tests.inventory import load_inventory
from ha_tests.services import service_argv
from ha_tests.transport import ShellPool

NODE = "guest"
UNIT = "memcached.service"
#: what systemd says of a unit; discovery must leave every one of them as it found them
WATCHED = ("ActiveState", "SubState", "MainPID", "NRestarts", "ActiveEnterTimestampMonotonic")
#: seconds a node may take per read-only question: under TCG on this loaded machine the
#: guest may answer one slower than the default 30 (docs/discovery.rst)
DISCOVER_TIMEOUT = 180


@pytest.fixture(scope="module")
def systemd_guest(tmp_path_factory):
    skip_without_a_guest("systemd guest", missing())
    made = GuestPair(tmp_path_factory.mktemp("systemd-guest"), guest=SystemdGuest).up()
    try:
        yield made
    finally:
        made.down()


@pytest.fixture(scope="module")
def guest_inventory(systemd_guest, tmp_path_factory):
    """The guest as an operator's inventory names it: how to reach it, nothing of what runs."""
    guest = systemd_guest.guest
    node = {k: v for k, v in guest.node(NODE).items() if k != "roles"}
    path = tmp_path_factory.mktemp("systemd-inventory") / "inventory.yaml"
    path.write_text(yaml.safe_dump({
        "name": "systemd-guest", "test_target": True,
        "ssh": {**guest.ssh_settings(), "connect_timeout": 30}, "nodes": [node]}))
    return path


@pytest.fixture(scope="module")
def shell(guest_inventory):
    pool = ShellPool(load_inventory(guest_inventory))
    yield pool.get(NODE)
    pool.close()


def ha_tests(*args, timeout: float = 900) -> subprocess.CompletedProcess:
    """The command line, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "ha_tests.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def unit(shell, name: str = UNIT) -> dict[str, str]:
    """``systemctl show`` of a unit: what systemd itself says of it."""
    result = shell.run(["systemctl", "show", name, "-p", ",".join(WATCHED)], timeout=120)
    assert result.ok, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


def cmdline(shell, pid: str) -> str:
    return shell.run(["cat", f"/proc/{pid}/cmdline"], timeout=60).stdout.replace("\0", " ") \
        .strip()


@pytest.fixture(scope="module")
def discovered(guest_inventory, shell, tmp_path_factory):
    """``ha-tests discover -o`` on the guest's inventory, once; systemd's word around it."""
    before = {name: unit(shell, name) for name in (UNIT, "ssh.service")}
    out = tmp_path_factory.mktemp("systemd-discovered") / "inventory.yaml"
    result = ha_tests("discover", "-i", guest_inventory, "--discover-timeout",
                      DISCOVER_TIMEOUT, "-o", out)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = {name: unit(shell, name) for name in (UNIT, "ssh.service")}
    return {"path": out, "inventory": load_inventory(out), "text": out.read_text(),
            "before": before, "after": after}


def test_the_guest_runs_systemd_as_pid_1_with_debian_s_own_units(shell):
    assert shell.run(["cat", "/proc/1/comm"], timeout=60).stdout.strip() == "systemd"
    for name in ("memcached.service", "ssh.service"):
        fragment = shell.run(["systemctl", "show", name, "-p", "FragmentPath", "--value"],
                             timeout=60).stdout.strip()
        assert fragment == f"/lib/systemd/system/{name}", name  # the package's unit file
        assert shell.run(["systemctl", "is-active", name], timeout=60).stdout.strip() == \
            "active", name


def test_discover_finds_memcached_and_sshd_as_systemd_units_and_changes_nothing(
        discovered, shell):
    inventory = discovered["inventory"]
    catalog = load_catalog()
    assert inventory.test_target  # kept from the operator's file
    expected = {"memcached": "memcached.service", "sshd": "ssh.service"}
    for name, unit_name in expected.items():
        service = inventory.services[name]
        assert (service.manager, service.unit, service.nodes) == ("systemd", unit_name, [NODE])
        assert service.source == f"systemd unit {unit_name} on {NODE}"
        assert service.process == catalog[name].process
        # the way to act on it is systemd's own
        assert service_argv(name, service, "stop") == ["systemctl", "stop", unit_name]
        assert service_argv(name, service, "start") == ["systemctl", "start", unit_name]
        assert service_argv(name, service, "status") == ["systemctl", "is-active", unit_name]
        # the pattern is the unit's own main process
        main = discovered["after"][unit_name]["MainPID"]
        assert main != "0"
        assert re.search(service.process, cmdline(shell, main)), cmdline(shell, main)
    assert f"source: systemd unit memcached.service on {NODE}" in discovered["text"]
    # the rest it lists are units systemd has loaded on the guest (this machine's packages,
    # enabled here) but the guest's target never started: a stopped unit counts as the
    # node's service (docs/discovery.rst)
    for name in set(inventory.services) - set(expected):
        service = inventory.services[name]
        assert service.manager == "systemd" and service.nodes == [NODE], name
        assert unit(shell, service.unit)["ActiveState"] == "inactive", name
    # discovery only read: no unit was stopped, restarted or replaced
    assert discovered["before"] == discovered["after"]
    assert all(u["ActiveState"] == "active" for u in discovered["after"].values())


def run_scenario(tmp_path, inventory_path, scenario: str) -> dict:
    """``ha-tests run`` of one scenario on the discovered inventory; its summary.json."""
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario)
    results = tmp_path / "results"
    result = ha_tests("run", path, "-i", inventory_path, "-r", results, "--no-discover")
    runs = sorted(results.glob("*/summary.json"))
    assert runs, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(runs[-1].read_text())
    assert result.returncode == 0 and summary["status"] == "pass", \
        result.stdout[-3000:] + result.stderr[-3000:]
    assert all(step["ok"] for step in summary["rollback"]), summary["rollback"]
    summary["events"] = [json.loads(line) for line in
                         (runs[-1].parent / "events.jsonl").read_text().splitlines()]
    return summary


def outages(summary: dict, monitor: str) -> list[dict]:
    return summary["monitors"][monitor]["iterations"][0]["metrics"]["outages"]


#: the process monitor's probe under TCG: a listing is a few forks, but a loaded machine's
#: emulated guest may still take seconds to answer one
PROCESS_MONITOR = """
  - type: process
    name: memcached-process
    target: victim
    service: memcached
    interval: 1
    timeout: 60
    gate: false
"""


def test_a_stop_service_run_stops_the_unit_through_systemctl_and_starts_it_again(
        discovered, shell, tmp_path):
    before = unit(shell)
    summary = run_scenario(tmp_path, discovered["path"], f"""
name: systemd-stop-memcached
description: stop memcached through the systemctl discovery found, start it again
gap: classic
targets:
  victim: {{service: memcached, pick: one}}
attackers:
  - type: stop-service
    target: victim
    service: memcached
monitors:{PROCESS_MONITOR}
timing:
  baseline: 2
  fault_duration: 10
  observe: 10
  recovery_timeout: 300
""")
    after = unit(shell)
    # the run saw memcached's process gone while the unit was stopped, then back
    [gone] = outages(summary, "memcached-process")
    assert not gone["open"]
    # and systemd says the same: stopped and started (a new main process), not restarted
    # by itself (NRestarts counts only its own restarts)
    assert after["ActiveState"] == "active" and after["MainPID"] not in ("0", before["MainPID"])
    assert after["NRestarts"] == before["NRestarts"]
    assert after["ActiveEnterTimestampMonotonic"] != before["ActiveEnterTimestampMonotonic"]


def test_a_kill_process_run_kills_the_main_process_and_systemd_restarts_it(
        discovered, shell, tmp_path):
    before = unit(shell)
    summary = run_scenario(tmp_path, discovered["path"], f"""
name: systemd-kill-memcached
description: SIGKILL memcached's main process; systemd's Restart=always brings it back
gap: classic
targets:
  victim: {{service: memcached, pick: one}}
attackers:
  - type: kill-process
    target: victim
    service: memcached
    comes_back_within: 60
monitors:{PROCESS_MONITOR}
timing:
  baseline: 2
  fault_duration: 5
  observe: 10
  recovery_timeout: 300
""")
    after = unit(shell)
    [kill] = [step for step in summary["rollback"] if step["detail"]]
    killed = summary_killed(summary)
    assert killed == [int(before["MainPID"])]  # the unit's main process, and only it
    assert kill["detail"]["restarted_by_rollback"] == []  # systemd did it, not the rollback
    # systemd's own count of its restarts went up by one, with a new main process
    assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
    assert after["ActiveState"] == "active" and after["MainPID"] not in ("0", before["MainPID"])


def summary_killed(summary: dict) -> list[int]:
    """The PIDs the kill signalled, from the run's own history (events.jsonl's inject)."""
    [injected] = [e for e in summary["events"] if e.get("action") == "injected"]
    return sorted(pid for pids in injected["detail"]["pids"].values() for pid in pids)
