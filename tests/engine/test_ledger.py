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

import pytest
from local_target import answers, answers_soon, scenario_text

from ha_tests.events import read_events
from ha_tests.inventory import InventoryIdentity, load_inventory
from ha_tests.ledger import Ledger


def start_runner(scenario, inventory_file, results, cwd=None):
    return subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                             "-i", str(inventory_file), "-r", str(results), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)


def cli(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ha_tests.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def wait_for_event(results, predicate, timeout=120.0):
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
    assert answers_soon(web.port) and web.pids()
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
                  nodes=["n"], inventory=InventoryIdentity(None, "0123456789ab"))
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


# -- the inventory as typed (issue 16, item 2) --------------------------------------------------

def killed_with_relative_inventory(web, inventory_file, scenario_file, tmp_path):
    """kill -9 after inject, the run started from the inventory's directory with ``-i`` as
    a bare file name."""
    results = tmp_path / "results"
    proc = start_runner(scenario_file(hold=60.0), inventory_file.name, results,
                        cwd=inventory_file.parent)
    wait_for_event(results, lambda e: e.get("action") == "injected")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert not answers(web.port)


def test_heal_with_the_absolute_path_heals_an_entry_made_with_a_relative_one(
        web, inventory_file, scenario_file, tmp_path):
    killed_with_relative_inventory(web, inventory_file, scenario_file, tmp_path)
    heal = cli("heal", "-i", inventory_file.resolve())
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert "healed" in heal.stdout and "nothing to heal" not in heal.stdout
    assert answers_soon(web.port) and Ledger().entries() == []


def test_heal_from_another_directory_uses_the_recorded_inventory_not_the_local_one(
        web, inventory_file, scenario_file, tmp_path):
    killed_with_relative_inventory(web, inventory_file, scenario_file, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # a decoy of the same name there, whose start command starts nothing
    (elsewhere / "inventory.yaml").write_text(
        inventory_file.read_text().replace(f'start: "{web.start_command}"', 'start: "true"'))
    heal = cli("heal", cwd=elsewhere)
    assert heal.returncode == 0, heal.stdout + heal.stderr
    assert answers_soon(web.port) and Ledger().entries() == []


def test_a_new_run_with_the_absolute_path_heals_first(web, inventory_file, scenario_file,
                                                      tmp_path):
    killed_with_relative_inventory(web, inventory_file, scenario_file, tmp_path)
    rerun = cli("run", scenario_file(), "-i", inventory_file.resolve(), "-r",
                tmp_path / "again", "-q")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    events = read_events(next((tmp_path / "again").glob("*/events.jsonl")))
    healed = [e for e in events if e["kind"] == "ledger-heal"]
    assert healed and healed[0]["results"][0]["ok"]
    assert Ledger().entries() == []


def test_heal_refuses_an_inventory_that_now_names_other_nodes(web, inventory_file,
                                                              scenario_file, tmp_path):
    killed_with_relative_inventory(web, inventory_file, scenario_file, tmp_path)
    original = inventory_file.read_text()
    inventory_file.write_text(original.replace("address: 127.0.0.1", "address: 127.0.0.2"))
    heal = cli("heal", "-i", inventory_file)
    assert heal.returncode == 4, heal.stdout + heal.stderr
    assert "refusing to heal" in heal.stdout and "other nodes" in heal.stdout
    assert not answers(web.port)  # nothing was done against the other cloud
    run = cli("run", scenario_file(), "-i", inventory_file, "-r", tmp_path / "refused", "-q")
    assert run.returncode == 3, run.stdout + run.stderr  # preflight failed: blocked
    assert len(Ledger().entries()) == 1  # kept for the right inventory
    inventory_file.write_text(original)
    assert cli("heal").returncode == 0 and answers_soon(web.port)


def test_the_identity_is_the_resolved_file_and_the_nodes(inventory_file, tmp_path,
                                                         monkeypatch):
    monkeypatch.chdir(inventory_file.parent)
    relative = load_inventory(inventory_file.name).identity
    absolute = load_inventory(inventory_file.resolve()).identity
    assert relative == absolute and relative.path == str(inventory_file.resolve())
    inventory_file.write_text(inventory_file.read_text().replace("127.0.0.1", "127.0.0.9"))
    moved = load_inventory(inventory_file).identity
    assert moved.path == relative.path and moved.fingerprint != relative.fingerprint


# -- unreadable entries (issue 16, item 3) ------------------------------------------------------

def damaged_entry(inventory_file, content: str) -> Path:
    """A real entry of this inventory, then damaged: what a full disk or a hand edit leaves."""
    ledger = Ledger()
    path = ledger.record(scenario="kill-web", attacker="kill-web", plugin_type="kill-process",
                         params={"service": "web"}, nodes=["local"],
                         inventory=load_inventory(inventory_file).identity)
    data = json.loads(path.read_text())
    data["pid"] = 0  # its writer is gone
    whole = json.dumps(data, indent=1)
    cut = {"truncated": len(whole) // 2, "truncated-after-inventory": whole.index('"state"')}
    path.write_text(whole[: cut[content]] if content in cut else content)
    return path


@pytest.mark.parametrize("content", ["truncated", "[1, 2]", '"text"', '{"run_id": "x"}',
                                     '{"kind": "from-the-future"}'],
                         ids=["truncated", "a-list", "a-string", "fields-missing", "unknown-kind"])
def test_an_unreadable_entry_blocks_heal_and_runs_loudly(web, inventory_file, scenario_file,
                                                         tmp_path, content):
    path = damaged_entry(inventory_file, content)
    heal = cli("heal")
    assert heal.returncode == 4, heal.stdout + heal.stderr
    assert "Traceback" not in heal.stderr
    assert str(path) in heal.stdout and "cannot be read" in heal.stdout
    assert f"rm '{path}'" in heal.stdout  # what to do
    run = cli("run", scenario_file(), "-i", inventory_file, "-r", tmp_path / "blocked", "-q")
    assert run.returncode == 3, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and str(path) in run.stdout + run.stderr
    assert path.exists()  # kept until a person has looked
    path.unlink()
    assert cli("heal").stdout.startswith("nothing to heal")


def test_a_truncated_entry_of_another_inventory_does_not_block_this_one(
        web, inventory_file, scenario_file, tmp_path):
    other = tmp_path / "other" / "inventory.yaml"
    other.parent.mkdir()
    other.write_text(inventory_file.read_text())
    damaged_entry(other, "truncated-after-inventory")
    run = cli("run", scenario_file(), "-i", inventory_file, "-r", tmp_path / "free", "-q")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_state_of_the_wrong_shape_is_a_failed_heal_not_a_crash(web, inventory_file):
    path = Ledger().record(scenario="s", attacker="stop-web", plugin_type="stop-service",
                           params={"service": "web"}, nodes=["local"],
                           inventory=load_inventory(inventory_file).identity,
                           state={"acted": ["local"]})
    path.write_text(json.dumps({**json.loads(path.read_text()), "pid": 0}))
    heal = cli("heal")
    assert heal.returncode == 4 and "Traceback" not in heal.stderr, heal.stdout + heal.stderr
    assert "stop-web on local: FAILED" in heal.stdout
    assert "the recorded state does not fit" in heal.stdout  # said as such, and what to do:
    assert f"rm '{path}'" in heal.stdout
    assert path.exists()
