"""The main job's scenarios, run through the CLI against the lab, as an operator would.

Each is a real fault on the lab (keystone killed on the VIP holder, haproxy killed so the VIP
moves) measured by real monitors; the test reads the verdict and the recorded history.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from measured import assert_measured, injected_pids

from ha_tests.events import read_events

pytestmark = pytest.mark.lab


def run_cli(lab, tmp_path, *scenarios):
    results = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", *scenarios,
                           "-i", str(lab.inventory_path), "-r", str(results),
                           "--junit", str(tmp_path / "junit.xml")],
                          capture_output=True, text=True, timeout=600)
    summaries = {json.loads(p.read_text())["scenario"]: json.loads(p.read_text())
                 for p in results.glob("*/summary.json")}
    return proc, summaries, results


def test_kill_keystone_and_haproxy_on_the_vip_holder_are_measured(lab, tmp_path):
    proc, summaries, results = run_cli(lab, tmp_path, "kill-keystone", "kill-haproxy-vip-holder")
    output = proc.stdout + proc.stderr[-3000:]
    assert proc.returncode in (0, 1), output   # pass, or the cloud missed an SLA
    assert set(summaries) == {"kill-keystone", "kill-haproxy-vip-holder"}
    for name, summary in summaries.items():
        (log,) = results.glob(f"*-{name}/events.jsonl")
        events = read_events(log)
        assert_measured(summary, events, output)
        assert any(injected_pids(events).values()), f"{name}: nothing was really killed"
        # the table printed at the end names each, with its verdict
        assert name in proc.stdout and summary["status"].upper() in proc.stdout
    # the JUnit says what the summaries say: a failure element exactly for a failed SLA
    junit = (tmp_path / "junit.xml").read_text()
    failed = sum(s["status"] == "fail" for s in summaries.values())
    assert junit.count("<testcase") == 3 and junit.count("<failure") == failed
    assert "2 of 2 measured" in junit and "2 of 2 measured" in proc.stdout


def test_a_run_that_only_skipped_measured_nothing_and_does_not_pass(lab, tmp_path):
    """A scenario needing nova on the identity lab is skipped with the reason, and a run of
    nothing but that measured nothing: exit 6, "0 of 1 measured" in the output and JUnit."""
    proc, summaries, _ = run_cli(lab, tmp_path, "gap1-nova-compute-status")
    summary = summaries["gap1-nova-compute-status"]
    assert summary["status"] == "skipped" and "nova-compute" in summary["skip_reason"]
    assert proc.returncode == 6, proc.stdout + proc.stderr[-2000:]
    assert "0 of 1 measured" in proc.stdout
    assert "not measured: gap1-nova-compute-status: skipped:" in proc.stdout
    junit = (tmp_path / "junit.xml").read_text()
    assert 'type="not-measured"' in junit and "0 of 1 measured" in junit
