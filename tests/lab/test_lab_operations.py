"""Operations against the lab: one-shot steps at their point of the timeline, checked, undone.

A user is created in keystone while keystone is killed on the VIP holder, read back after
the rollback through a variable, and deleted when the iteration ends; a command runs on the
victim over SSH. The test asks keystone itself whether the user exists afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import openstack
import openstack.config
import openstack.connection
import pytest
from measured import assert_measured

from ha_tests.events import read_events

pytestmark = pytest.mark.lab

SCENARIO = """\
name: operations-under-a-keystone-kill
gap: classic
requires: [keystone]
targets:
  victim: {{service: keystone, pick: vip-holder}}
attackers:
  - type: kill-process
    target: victim
    service: keystone
monitors:
  - type: api
    service: identity
    interval: 0.5
    timeout: 3
operations:
  - type: command
    name: victim-hostname
    target: victim
    at: before-inject
    command: hostname
    sets: {{victim: all}}
  - type: openstack
    name: create-user
    command: user create {user} -f value -c id
    undo: user delete @user_id
    sets: {{user_id: all}}
  - type: openstack
    name: user-is-there
    at: after-rollback
    command: user show @user_id -f value -c name
    expect: {{condition: eq, value: {expected}}}
timing:
  baseline: 2
  observe: 4
  recovery_timeout: 60
"""


def run(lab, tmp_path, expected: str | None = None):
    user = f"ha-tests-op-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "operations.yaml"
    path.write_text(SCENARIO.format(user=user, expected=expected or user))
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", str(path),
                           "-i", str(lab.inventory_path), "-r", str(results)],
                          capture_output=True, text=True, timeout=600)
    (summary_path,) = results.glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    return user, proc, summary, read_events(summary_path.parent / "events.jsonl")


def keystone_has_user(lab, name: str) -> bool:
    config = openstack.config.OpenStackConfig(config_files=[str(lab.clouds_yaml_path)])
    conn = openstack.connection.Connection(config=config.get_one(cloud="ha-lab"))
    try:
        return conn.identity.find_user(name, ignore_missing=True) is not None
    finally:
        conn.close()


def test_operations_run_in_order_set_variables_and_are_undone(lab, tmp_path):
    user, proc, summary, events = run(lab, tmp_path)
    output = proc.stdout[-4000:] + proc.stderr[-2000:]
    # whether keystone came back within the SLA is the lab's timing (tests/measured.py); what
    # is pinned is that the run measured and that no operation failed
    assert proc.returncode in (0, 1), output
    assert_measured(summary, events, output)
    assert not [f for f in summary["sla_failures"] if f.startswith("operation ")], output
    records = {r["operation"]: r for r in summary["operations"]}
    assert records["victim-hostname"]["set"]["victim"] == summary["targets"]["victim"][0]
    user_id = records["create-user"]["set"]["user_id"]
    assert len(user_id) == 32 and records["create-user"]["undo"]["ok"]
    assert records["user-is-there"]["ok"] and "holds" in records["user-is-there"]["check"]
    # each ran at its point: hostname before the kill, the user after it, the check after
    # the rollback, the undo after the observation
    mono = {(e["kind"], e.get("operation") or e.get("action")): e["mono"] for e in events}
    assert mono[("operation", "victim-hostname")] < mono[("attack", "injected")] \
        < mono[("operation", "create-user")] < mono[("attack", "rolled-back")] \
        < mono[("operation", "user-is-there")] < mono[("operation-undo", "create-user")]
    assert not keystone_has_user(lab, user), "the undo did not delete the user"


def test_a_failed_check_fails_the_run_and_the_undo_still_runs(lab, tmp_path):
    user, proc, summary, _ = run(lab, tmp_path, expected="somebody-else")
    assert proc.returncode == 1 and summary["status"] == "fail", proc.stdout[-3000:]
    assert any(f.startswith("operation user-is-there: check failed: eq 'somebody-else'")
               for f in summary["sla_failures"]), summary["sla_failures"]
    assert not keystone_has_user(lab, user)


def test_a_runner_killed_after_the_operation_leaves_its_undo_to_heal(lab, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("HA_TESTS_STATE_DIR", str(tmp_path / "state"))
    user = f"ha-tests-op-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "operations.yaml"
    path.write_text(SCENARIO.format(user=user, expected=user))
    results = tmp_path / "results"
    proc = subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(path),
                             "-i", str(lab.inventory_path), "-r", str(results), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(e.get("operation") == "create-user" and e["kind"] == "operation"
                  for log in results.glob("*/events.jsonl") for e in read_events(log)):
        assert proc.poll() is None and time.monotonic() < deadline, "create-user never ran"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # before the undo: only the ledger remembers the user
    proc.wait(timeout=10)
    assert keystone_has_user(lab, user)

    heal = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal", "-i",
                           str(lab.inventory_path)], capture_output=True, text=True,
                          timeout=300)
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert "create-user (undo): undone" in heal.stdout, heal.stdout
    assert not keystone_has_user(lab, user), "heal did not run the undo"
