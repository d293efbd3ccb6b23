"""Injection skew: a fault on several nodes records, in its ``injected`` event, each node's
moment of fault by that node's clock and their spread, and the report's attack list shows it.

Two ``transport: local`` nodes share this machine's clock, so each moment must lie between
the ``inject-start`` and ``injected`` events' wall times, and the spread is their difference.
"""

from __future__ import annotations

import textwrap

import pytest

from ha_tests.events import read_events
from ha_tests.inventory import load_inventory
from ha_tests.report.records import load_run
from ha_tests.report.timeline import attack_rows
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario


def test_a_fault_on_two_nodes_records_when_each_got_it_and_the_spread(tmp_path, web):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(textwrap.dedent("""\
        name: two-local
        test_target: true
        nodes:
          - {name: l0, roles: [hog], address: 127.0.0.1, transport: local}
          - {name: l1, roles: [hog], address: 127.0.0.1, transport: local}
        """))
    scenario = tmp_path / "hog.yaml"
    scenario.write_text(textwrap.dedent(f"""\
        name: hog-both
        description: a short cpu-hog on both nodes at once
        gap: classic
        targets:
          both: {{role: hog, pick: all}}
        attackers:
          - {{type: cpu-hog, target: both, workers: 1, duration: 5}}
        monitors:
          - {{type: tcp, name: web, host: 127.0.0.1, port: {web.port}, interval: 0.1,
             timeout: 0.5, gate: false}}
        timing: {{baseline: 0.2, fault_duration: 0.2, observe: 0.2, recovery_timeout: 5,
                  recovered_after: 1}}
        """))
    outcome = ScenarioRunner(load_scenario(scenario), load_inventory(inventory),
                             tmp_path / "results", seed=3).run()
    assert outcome.status == "pass", outcome.result
    events = read_events(outcome.result_dir / "events.jsonl")
    start = next(e for e in events if e.get("action") == "inject-start")
    injected = next(e for e in events if e.get("action") == "injected")
    moments = injected["detail"]["fault_at"]
    assert set(moments) == {"l0", "l1"}
    assert all(start["wall"] - 0.01 <= t <= injected["wall"] + 0.01 for t in moments.values())
    # the moments are recorded rounded to the microsecond, the skew from the exact ones
    assert injected["detail"]["skew_s"] == pytest.approx(
        max(moments.values()) - min(moments.values()), abs=2e-6)
    [view] = load_run(outcome.result_dir).iterations()
    [row] = [what for _, _, what in attack_rows(view) if what.startswith("injected")]
    assert f"skew {injected['detail']['skew_s'] * 1000:.1f} ms across 2 nodes" in row
