"""A Yardstick GeneralHA case end to end on this machine: a real process killed, restarted
by the service command a native inventory lends the pod, measured, written as yardstick.out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from ha_tests.inventory import Inventory
from ha_tests.processes import find
from ha_tests.transport.local import LocalShell
from ha_tests.yardstick import load_cases
from ha_tests.yardstick.output import yardstick_record
from ha_tests.yardstick.run import run_task


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web():
    port = free_port()
    start = (f"sh -c 'setsid -f {sys.executable} -m http.server {port} --bind 127.0.0.1 "
             ">/dev/null 2>&1'")
    subprocess.run(start, shell=True, check=True)
    pattern = rf"http\.server {port} "
    deadline = time.monotonic() + 10
    while not find(LocalShell(), pattern):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    yield port, start
    for process in find(LocalShell(), pattern):
        os.kill(process.pid, signal.SIGKILL)


def test_general_ha_case_runs_and_reports(tmp_path, web):
    port, start = web
    name = f"http.server {port}"
    (tmp_path / "pod.yaml").write_text("nodes:\n- {name: node1, role: Controller, "
                                       "ip: 127.0.0.1, user: root, password: x}\n")
    (tmp_path / "inventory.yaml").write_text(textwrap.dedent(f"""\
        test_target: true
        nodes: [{{name: local, address: 127.0.0.1, transport: local}}]
        services:
          '{name}': {{roles: [controller], manager: command, start: "{start}"}}
        """))
    (tmp_path / "opnfv_yardstick_tc900.yaml").write_text(textwrap.dedent(f"""\
        schema: "yardstick:task:0.1"
        {{% set attack_process = attack_process or "{name}" %}}
        scenarios:
        - type: GeneralHA
          options:
            attackers:
            - {{fault_type: kill-process, host: node1, key: kill,
               process_name: "{{{{ attack_process }}}}"}}
            monitors:
            - {{monitor_type: process, host: node1, key: web-process, monitor_time: 2,
               process_name: "{{{{ attack_process }}}}", sla: {{max_recover_time: 60}}}}
            steps:
            - {{actionKey: kill, actionType: attacker, index: 1}}
            - {{actionKey: web-process, actionType: monitor, index: 2}}
          nodes: {{node1: node1.LF}}
          runner: {{type: Duration, duration: 1}}
          sla: {{action: monitor}}
        context: {{type: Node, name: LF, file: pod.yaml}}
        """))
    from ha_tests.inventory import load_inventory

    task = load_cases(tmp_path / "opnfv_yardstick_tc900.yaml", tmp_path / "pod.yaml",
                      inventory=load_inventory(tmp_path / "inventory.yaml"))
    local = [n.model_copy(update={"transport": "local"}) for n in task.inventory.nodes]
    task.inventory = Inventory.model_validate({**task.inventory.model_dump(), "nodes": [
        n.model_dump() for n in local], "services": {
            k: v.model_dump() for k, v in task.inventory.services.items()}})
    (result,) = run_task(task, tmp_path / "results", seed=1)
    assert result.status == "pass", result.summary.model_dump_json()[:4000]
    assert result.summary.rollback and all(r.ok for r in result.summary.rollback)
    record = yardstick_record([result], environ={})
    case = record["result"]["testcases"]["opnfv_yardstick_tc900"]
    assert case["criteria"] == "PASS"
    data = case["tc_data"][0]["data"]
    assert data["sla_pass"] == 1
    assert data["web-process_outage_count"] >= 1   # the kill was seen
    assert data["web-process_recovery_time"] is not None
