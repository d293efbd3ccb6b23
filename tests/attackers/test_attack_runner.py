"""The attackers through the real runner: entry points, scenario parameters, rollback, the
final heal on top of it (idempotent), and the run's events — against this machine."""

from __future__ import annotations

import json
import textwrap

from ha_tests.events import read_events
from ha_tests.inventory import load_inventory
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario


def test_hogs_in_a_scenario_pass_and_leave_nothing(tmp_path):
    fill = tmp_path / "fill"
    fill.mkdir()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(textwrap.dedent("""\
        name: local
        test_target: true
        nodes:
          - {name: local, roles: [local], address: 127.0.0.1, transport: local}
        """))
    scenario = tmp_path / "hogs.yaml"
    scenario.write_text(textwrap.dedent(f"""\
        name: hogs
        gap: classic
        targets:
          victim: {{role: local}}
        attackers:
          - {{type: cpu-hog, target: victim, workers: 1, duration: 1}}
          - {{type: memory-hog, target: victim, mib: 16, duration: 1}}
          - {{type: disk-fill, target: victim, dir: {fill}, mib: 1, min_free_percent: 1,
              duration: 1}}
          - {{type: io-stall, target: victim, dir: {fill}, writers: 1, mib: 1,
              min_free_percent: 1, duration: 1}}
        monitors:
          - {{type: command, name: alive, command: ["true"], interval: 0.2}}
        timing: {{baseline: 0.2, fault_duration: 0.5, observe: 0.5, recovery_timeout: 5,
                  recovered_after: 1}}
        """))
    outcome = ScenarioRunner(load_scenario(scenario), load_inventory(inventory),
                             tmp_path / "results", seed=1).run()
    assert outcome.status == "pass", outcome.result.error
    assert all(entry.ok for entry in outcome.result.rollback)
    assert list(fill.iterdir()) == []
    events = read_events(outcome.result_dir / "events.jsonl")
    injected = [e for e in events if e.get("action") == "injected"]
    assert {e["attacker"] for e in injected} == {"cpu-hog", "memory-hog", "disk-fill",
                                                 "io-stall"}
    assert json.dumps(injected)  # details are JSON for the record
