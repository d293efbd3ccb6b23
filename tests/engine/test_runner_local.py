"""The runner end to end against a real local process: killed, measured, restarted.

Each test observes from outside the runner: the PID the attacker killed is really gone, the
port is really refused during the outage, and the server really answers afterwards.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from local_target import answers, answers_soon, pid_alive, scenario_text

from ha_tests.errors import ExitCode
from ha_tests.events import read_events
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import PluginUse, Scenario, load_scenario


def run(scenario, inventory, tmp_path):
    return ScenarioRunner(scenario, inventory, tmp_path / "results", seed=7).run()


def test_kill_is_real_outage_is_measured_and_service_restarted(web, inventory, scenario_file,
                                                                tmp_path):
    before = web.pids()
    outcome = run(load_scenario(scenario_file()), inventory, tmp_path)

    assert outcome.status == "pass", outcome.result
    injected = [e for e in read_events(outcome.result_dir / "events.jsonl")
                if e["kind"] == "attack" and e["action"] == "injected"]
    killed = injected[0]["detail"]["pids"]["local"]
    assert killed == before and not any(pid_alive(p) for p in killed)
    assert answers_soon(web.port) and web.pids() and set(web.pids()).isdisjoint(before)

    seen = outcome.result.monitors["web"].iterations[0]
    assert seen.metrics.outage_count >= 1
    assert seen.metrics.recovery_time.lo <= seen.metrics.recovery_time.hi
    assert seen.metrics.longest_outage.value > 0
    # why the samples failed, counted: the server's port refused connections
    assert seen.failures.get("Connection refused", 0) >= 1, seen.failures
    rollback = outcome.result.rollback[0]
    assert rollback.ok and rollback.detail["restarted_by_rollback"] == ["local"]


def test_phases_run_in_order_and_every_sample_is_on_disk(inventory, scenario_file, tmp_path):
    outcome = run(load_scenario(scenario_file()), inventory, tmp_path)
    events = read_events(outcome.result_dir / "events.jsonl")
    phases = [e.get("phase") or e.get("action") or e["kind"] for e in events
              if e["kind"] in ("run-start", "targets", "steady-state", "phase", "attack",
                               "run-end")]
    order = ["run-start", "targets", "before", "baseline", "inject", "inject-start", "injected",
             "rollback", "rollback-start", "rolled-back", "observe", "window-end",
             "iteration-end", "after", "heal-start", "healed", "run-end"]
    compact = [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]]
    assert compact == order
    samples = [e for e in events if e["kind"] == "sample"]
    t0 = next(e["mono"] for e in events if e.get("phase") == "inject")
    in_window = outcome.result.monitors["web"].iterations[0].metrics.sample_count
    assert len([s for s in samples if s["monitor"] == "web" and s["start"] >= t0]) == in_window
    assert all(s["start"] <= s["end"] for s in samples)
    summary = json.loads((outcome.result_dir / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["targets"] == {"victim": ["local"]}
    assert (outcome.result_dir / "junit.xml").read_text().count("<testcase") == 1


def test_sla_failure_says_which_limit_broke_and_by_how_much(inventory, scenario_file,
                                                            tmp_path):
    outcome = run(load_scenario(scenario_file(sla="max_outage: 0.001")), inventory, tmp_path)
    assert outcome.status == "fail" and outcome.exit_code == ExitCode.SLA_FAILED
    junit = (outcome.result_dir / "junit.xml").read_text()
    assert "longest outage" in junit and "over by" in junit and 'type="SLA"' in junit


def test_preflight_failure_touches_nothing(web, inventory, scenario_file, tmp_path):
    before = web.pids()
    web_scenario = load_scenario(scenario_file())
    web.stop()  # steady state broken: nothing listens, so nothing must be attacked
    try:
        outcome = run(web_scenario, inventory, tmp_path)
    finally:
        web.start()
    assert outcome.status == "preflight-failed"
    assert outcome.exit_code == ExitCode.PREFLIGHT_FAILED
    kinds = [e["kind"] for e in read_events(outcome.result_dir / "events.jsonl")]
    assert "attack" not in kinds
    assert before  # it was running before we stopped it ourselves


def test_a_steady_state_that_comes_back_while_preflight_waits_is_measured(
        web, inventory, tmp_path, monkeypatch):
    """The watched service does not answer when preflight starts (a node still booting
    after another scenario's fault) and answers 4 s later: the run waits for it, saying
    so, instead of failing preflight; one that never answers fails after SETTLE_TIMEOUT."""
    import socket
    import threading

    from ha_tests import runner as runner_module

    late = socket.socket()
    late.bind(("127.0.0.1", 0))
    port = late.getsockname()[1]
    path = tmp_path / "late.yaml"
    path.write_text(scenario_text(web.port).replace(f"port: {web.port}", f"port: {port}"))
    threading.Timer(4.0, late.listen).start()
    try:
        outcome = run(load_scenario(path), inventory, tmp_path / "late")
    finally:
        late.close()
    kinds = [e["kind"] for e in read_events(outcome.result_dir / "events.jsonl")]
    assert outcome.status in ("pass", "fail"), outcome.status
    assert "steady-state-wait" in kinds and "attack" in kinds

    monkeypatch.setattr(runner_module, "SETTLE_TIMEOUT", 2.0)
    never = run(load_scenario(path), inventory, tmp_path / "never")  # nothing listens now
    assert never.status == "preflight-failed"
    kinds = [e["kind"] for e in read_events(never.result_dir / "events.jsonl")]
    assert "steady-state-wait" in kinds and "attack" not in kinds


def test_exception_after_inject_still_rolls_back(web, inventory, scenario_file, tmp_path):
    from ha_tests.attackers.kill_process import KillProcess

    class KillThenCrash(KillProcess):
        def inject(self):
            super().inject()
            raise RuntimeError("attacker crashed after killing")

    base = load_scenario(scenario_file())
    use = base.attackers[0]
    crashing = Scenario(base.model, [PluginUse(use.name, use.type, KillThenCrash, use.params,
                                               use.target, use.spec)], base.monitors, base.file)
    before = web.pids()
    outcome = run(crashing, inventory, tmp_path)
    assert outcome.status == "error" and "attacker crashed" in outcome.result.error
    assert all(r.ok for r in outcome.result.rollback)
    assert answers_soon(web.port) and set(web.pids()).isdisjoint(before)


def test_failed_rollback_has_its_own_exit_code(web, inventory_file, scenario_file, tmp_path):
    from ha_tests.inventory import load_inventory

    text = inventory_file.read_text().replace(f'start: "{web.start_command}"', 'start: "true"')
    inventory_file.write_text(text)
    try:
        outcome = run(load_scenario(scenario_file()), load_inventory(inventory_file), tmp_path)
    finally:
        web.start()
    assert outcome.status == "rollback-failed"
    assert outcome.exit_code == ExitCode.ROLLBACK_FAILED
    assert "no process matching" in outcome.result.rollback[-1].error


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_a_real_runner_process_rolls_back(sig, web, inventory_file, scenario_file,
                                                    tmp_path):
    scenario = scenario_file(hold=60.0)  # the fault would be held a minute: we interrupt it
    results = tmp_path / "results"
    before = web.pids()
    proc = subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(scenario),
                             "-i", str(inventory_file), "-r", str(results), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert time.monotonic() < deadline, "the runner never injected"
            logs = list(results.glob("*/events.jsonl"))
            if logs and any(e.get("action") == "injected" for e in read_events(logs[0])):
                break
            time.sleep(0.05)
        assert not answers(web.port) or not set(web.pids()).issuperset(before)
        proc.send_signal(sig)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == ExitCode.INTERRUPTED
    summary = json.loads(next(results.glob("*/summary.json")).read_text())
    assert summary["status"] == "interrupted"
    assert summary["rollback"] and all(r["ok"] for r in summary["rollback"])
    assert answers_soon(web.port) and set(web.pids()).isdisjoint(before)
