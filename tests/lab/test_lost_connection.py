"""The runner loses its SSH connection to the node it attacks, and carries on.

A partition that also cuts SSH (``keep_ssh: false``, the runner's own address in the cut)
and an IPMI power-off both drop the runner's persistent connection mid-fault, while a
monitor keeps probing that node over SSH. The run must finish on its own (the subprocess
timeout below only detects a hang), roll back over the BMC or let the node-side timer do it,
say so in its events, and leave the lab whole. That the connection was really lost is shown
by the node's own monitor: its probes fail during the fault and succeed afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from labcheck import api_steady, healthy, wait_for

from ha_tests.events import read_events

pytestmark = pytest.mark.lab

HANG = 300  # seconds: far beyond what either run needs; reaching it means a hang


def run(lab, tmp_path, text: str) -> tuple[subprocess.CompletedProcess, list[dict], dict]:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    done = subprocess.run(
        [sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i", str(lab.inventory_path),
         "-r", str(tmp_path / "results"), str(path)],
        env=dict(os.environ, HA_TESTS_STATE_DIR=str(tmp_path / "state")),
        capture_output=True, text=True, timeout=HANG)
    [result_dir] = (tmp_path / "results").glob("*-lost-*")
    return (done, read_events(result_dir / "events.jsonl"),
            json.loads((result_dir / "summary.json").read_text()))


def statuses(events, monitor: str, after: float | None = None) -> list[str]:
    return [e["status"] for e in events if e["kind"] == "sample" and e["monitor"] == monitor
            and (after is None or e["start"] >= after)]


@pytest.fixture
def whole(lab):
    assert wait_for(lambda: healthy(lab) and api_steady(lab), 120, interval=1)
    yield lab
    assert wait_for(lambda: healthy(lab) and api_steady(lab), 120, interval=1), \
        "the lab was left broken"


def test_partition_cutting_the_runners_ssh_heals_by_the_node_timer(whole, tmp_path):
    lab = whole
    done, events, summary = run(lab, tmp_path, f"""\
        name: lost-ssh-partition
        description: cut the victim off everyone, the runner included
        gap: classic
        targets:
          victim: {{role: controller, pick: not-vip-holder}}
        attackers:
          - type: partition
            target: victim
            peer_role: controller
            addresses: ["{lab.plan.host_ip}"]
            keep_ssh: false
            duration: 8
        monitors:
          - {{type: command, name: victim-ssh, target: victim, command: "true",
             interval: 0.5, timeout: 2, gate: false}}
          - {{type: api, name: identity-api, service: identity, interval: 0.5, timeout: 3}}
        timing: {{baseline: 2, fault_duration: 8, observe: 5, recovery_timeout: 60}}
        """)
    assert summary["status"] in ("pass", "fail"), (summary.get("error"), done.stderr[-3000:])
    assert done.returncode in (0, 1)
    rollback = next(e for e in events if e.get("action") == "rolled-back")
    assert rollback["ok"], rollback
    t0 = next(e["mono"] for e in events if e.get("phase") == "inject")
    during = statuses(events, "victim-ssh", t0)
    assert {"fail", "timeout", "error"} & set(during), "the SSH probes never failed: no cut"
    assert statuses(events, "victim-ssh")[-1] == "ok", "SSH never came back"


def test_power_off_drops_the_ssh_monitor_and_rolls_back_over_the_bmc(whole, tmp_path):
    lab = whole
    done, events, summary = run(lab, tmp_path, """\
        name: lost-ssh-power
        description: power the victim off while a monitor probes it over SSH
        gap: classic
        targets:
          victim: {role: controller, pick: not-vip-holder}
        attackers:
          - {type: power-off, target: victim}
        monitors:
          - {type: process, name: victim-keystone, target: victim, service: keystone,
             interval: 0.5, timeout: 2, gate: false}
          - {type: api, name: identity-api, service: identity, interval: 0.5, timeout: 3}
        timing: {baseline: 2, fault_duration: 5, observe: 10, recovery_timeout: 120}
        """)
    assert summary["status"] in ("pass", "fail"), (summary.get("error"), done.stderr[-3000:])
    rollback = next(e for e in events if e.get("action") == "rolled-back")
    assert rollback["ok"], rollback
    t0 = next(e["mono"] for e in events if e.get("phase") == "inject")
    assert {"fail", "timeout", "error"} & set(statuses(events, "victim-keystone", t0))
    assert statuses(events, "victim-keystone")[-1] == "ok"
    node = summary["targets"]["victim"][0]
    assert lab.power(node).state()
