"""kill -9 the runner mid-attack: the ledger on disk lets `ha-tests heal` (or the next run)
put the target back, observed from outside: the service really answers again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from local_target import answers, scenario_text

from ha_tests.events import read_events
from ha_tests.ledger import Ledger


def start_runner(scenario, inventory_file, results):
    return subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                             "-i", str(inventory_file), "-r", str(results), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_event(results, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in results.glob("*/events.jsonl"):
            if any(predicate(e) for e in read_events(log)):
                return
        time.sleep(0.05)
    raise AssertionError("event never came")


def test_kill_9_after_inject_then_heal_restores_the_service(web, inventory_file, scenario_file,
                                                            tmp_path):
    results = tmp_path / "results"
    proc = start_runner(scenario_file(hold=60.0), inventory_file, results)
    wait_for_event(results, lambda e: e.get("action") == "injected")
    os.kill(proc.pid, signal.SIGKILL)  # no finally, no atexit: only the ledger survives
    proc.wait(timeout=10)

    entries = Ledger().entries()
    assert len(entries) == 1 and entries[0].data["type"] == "kill-process"
    assert entries[0].data["state"]["killed"]["local"]
    assert not answers(web.port)  # the fault really is still in force

    heal = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], capture_output=True,
                          text=True, timeout=60)
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert "healed" in heal.stdout
    assert answers(web.port) and web.pids()
    assert Ledger().entries() == []


def test_the_next_run_heals_what_a_dead_runner_left(web, inventory_file, scenario_file,
                                                    tmp_path):
    results = tmp_path / "results"
    proc = start_runner(scenario_file(hold=60.0), inventory_file, results)
    wait_for_event(results, lambda e: e.get("action") == "injected")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert not answers(web.port)

    rerun = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run",
                            str(scenario_file()), "-i", str(inventory_file), "-r",
                            str(tmp_path / "again"), "-q"], capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    summary = json.loads(next((tmp_path / "again").glob("*/summary.json")).read_text())
    assert summary["status"] == "pass"
    events = read_events(next((tmp_path / "again").glob("*/events.jsonl")))
    healed = [e for e in events if e["kind"] == "ledger-heal"]
    assert healed and healed[0]["results"][0]["ok"]
    assert Ledger().entries() == []


def test_a_live_runners_entries_are_not_touched(tmp_path, monkeypatch):
    monkeypatch.setenv("HA_TESTS_STATE_DIR", str(tmp_path / "s"))
    ledger = Ledger()
    ledger.record(scenario="s", attacker="a", plugin_type="kill-process", params={},
                  nodes=["n"], inventory_file=None)
    assert ledger.entries() and ledger.orphans() == []  # we (the writer) are alive


def operation_scenario(tmp_path, web, marker, hold=60.0) -> Path:
    """kill-web held for a minute, with an operation (on the runner) that makes ``marker``
    before the fault; its undo, which needs the variable the operation set, removes it."""
    text = scenario_text(web.port, hold=hold)
    text += textwrap.dedent(f"""\
        operations:
          - type: command
            name: make-marker
            at: before-inject
            command: touch {marker} && echo {marker}
            sets: {{made: all}}
            undo: rm @made
        """)
    path = tmp_path / "with-operation.yaml"
    path.write_text(text)
    return path


def killed_after_the_operation(web, inventory_file, tmp_path) -> Path:
    """Run operation_scenario and kill -9 the runner once the fault is in; the marker the
    operation made is returned."""
    marker = tmp_path / "made-by-the-operation"
    results = tmp_path / "results"
    proc = start_runner(operation_scenario(tmp_path, web, marker), inventory_file, results)
    wait_for_event(results, lambda e: e.get("action") == "injected")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return marker


def test_kill_9_after_an_operation_then_heal_runs_its_undo(web, inventory_file, tmp_path):
    marker = killed_after_the_operation(web, inventory_file, tmp_path)
    assert marker.exists()  # made, and never undone by the dead runner

    undo = [e for e in Ledger().entries() if e.is_undo]
    assert len(undo) == 1 and undo[0].data["state"]["variables"] == {"made": str(marker)}
    heal = subprocess.run([sys.executable, "-m", "ha_tests.cli", "heal"], capture_output=True,
                          text=True, timeout=60)
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert "make-marker (undo): undone" in heal.stdout
    assert not marker.exists()
    assert Ledger().entries() == []


def test_a_failed_undo_left_by_a_dead_runner_is_reported_and_does_not_block_runs(
        web, inventory_file, tmp_path):
    marker = killed_after_the_operation(web, inventory_file, tmp_path)
    marker.unlink()  # someone cleaned up by hand: the undo (rm) now fails

    rerun = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run",
                            str(operation_scenario(tmp_path, web, tmp_path / "second", hold=0.0)),
                            "-i", str(inventory_file), "-r", str(tmp_path / "again"), "-q"],
                           capture_output=True, text=True, timeout=180)
    events = read_events(next((tmp_path / "again").glob("*/events.jsonl")))
    healed = next(e for e in events if e["kind"] == "ledger-heal")["results"]
    undo = next(r for r in healed if r.get("kind") == "operation-undo")
    assert not undo["ok"] and "undo failed" in undo["error"]
    assert "left by an earlier run: make-marker" in rerun.stderr + rerun.stdout
    summary = json.loads(next((tmp_path / "again").glob("*/summary.json")).read_text())
    assert summary["status"] == "pass", rerun.stdout + rerun.stderr
    assert not (tmp_path / "second").exists()  # the second run's own undo ran
    assert Ledger().entries() == []
