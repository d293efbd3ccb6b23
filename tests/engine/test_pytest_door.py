"""pytest door: scenario YAMLs are test items; under xdist, independent scenarios overlap in
time while two scenarios on the same node never do (node locks across worker processes)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from local_target import WebServer, free_port, scenario_text

from ha_tests.events import read_events


@pytest.fixture
def two_servers():
    servers = [WebServer(free_port()), WebServer(free_port())]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def write_inventory(path, servers):
    nodes, services = "", ""
    for i, server in enumerate(servers):
        nodes += textwrap.indent(textwrap.dedent(f"""\
            - name: node{i}
              roles: [web{i}]
              address: 127.0.0.1
              transport: local
            """), "  ")
        services += textwrap.indent(textwrap.dedent(f"""\
            web{i}:
              roles: [web{i}]
              process: '{server.pattern}'
              manager: command
              start: "{server.start_command}"
            """), "  ")
    path.write_text(f"name: two\ntest_target: true\nnodes:\n{nodes}services:\n{services}")


def scenario_for(server, role, name, service):
    text = scenario_text(server.port, service=service).replace("name: kill-web", f"name: {name}")
    return text.replace("role: web,", f"role: {role},").replace("observe: 0.5", "observe: 2")


def inject_windows(results):
    windows = {}
    for log in results.glob("*/events.jsonl"):
        events = read_events(log)
        name = events[0]["scenario"]
        start = next(e["wall"] for e in events if e.get("phase") == "baseline")
        end = next(e["wall"] for e in events if e["kind"] == "run-end")
        windows[name] = (start, end)
    return windows


def run_pytest(tmp_path, inventory, *scenarios):
    results = tmp_path / "results"
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q",
         f"--ha-inventory={inventory}", f"--ha-results={results}", f"--junitxml={junit}",
         *map(str, scenarios)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return proc, results, junit


def test_independent_scenarios_overlap_and_agree_with_junit(two_servers, tmp_path):
    inventory = tmp_path / "inventory.yaml"
    write_inventory(inventory, two_servers)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(scenario_for(two_servers[0], "web0", "kill-a", "web0"))
    b.write_text(scenario_for(two_servers[1], "web1", "kill-b", "web1"))
    proc, results, junit = run_pytest(tmp_path, inventory, a, b)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    windows = inject_windows(results)
    (a0, a1), (b0, b1) = windows["kill-a"], windows["kill-b"]
    assert a0 < b1 and b0 < a1, f"no overlap: {windows}"
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    assert sorted(c.get("name") for c in cases) == ["kill-a", "kill-b"]
    # each case names its report and PNG timeline as attachments, and they exist
    for case in cases:
        attached = [Path(p.get("value")) for p in case.iter("property")
                    if p.get("name") == "attachment"]
        assert {p.suffix for p in attached} == {".html", ".png"}, attached
        assert all(p.is_file() and p.stat().st_size > 1000 for p in attached)


def test_scenarios_on_the_same_node_never_overlap(two_servers, tmp_path):
    inventory = tmp_path / "inventory.yaml"
    write_inventory(inventory, two_servers)
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(scenario_for(two_servers[0], "web0", "kill-a", "web0"))
    b.write_text(scenario_for(two_servers[0], "web0", "kill-a2", "web0"))
    proc, results, _ = run_pytest(tmp_path, inventory, a, b)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    windows = sorted(inject_windows(results).values())
    assert windows[0][1] <= windows[1][0], f"overlapped: {windows}"


def test_a_failing_sla_fails_the_item_with_the_reason(two_servers, tmp_path):
    inventory = tmp_path / "inventory.yaml"
    write_inventory(inventory, two_servers)
    a = tmp_path / "a.yaml"
    a.write_text(scenario_for(two_servers[0], "web0", "kill-a", "web0")
                 .replace("max_outage: 30", "max_outage: 0.001"))
    proc, _, junit = run_pytest(tmp_path, inventory, a)
    assert proc.returncode == 1
    failure = next(ET.parse(junit).getroot().iter("failure"))
    assert "longest outage" in failure.get("message", "") + (failure.text or "")
