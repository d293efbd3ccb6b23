"""kill -9 the runner mid-attack: the ledger on disk lets `ha-tests heal` (or the next run)
put the target back, observed from outside: the service really answers again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from local_target import answers

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
