"""Every front door goes through the one Session: for one scenario on a local target,
``ha-tests run``, ``validate-deployment``, the pytest plugin and the Tempest plugin show the
same plan (seed and targets), hold the same node locks, make the same destructive decision
and write the same outputs; ``yardstick run`` does the same for a Yardstick case."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from local_target import scenario_text

from ha_tests.events import read_events
from ha_tests.inventory import Inventory
from ha_tests.results import load_summary
from ha_tests.summary import Status

SEED = 7
NATIVE_DOORS = ["run", "validate-deployment", "pytest", "tempest"]

TEMPEST_DRIVER = """\
import sys, unittest
from pathlib import Path
from ha_tests.integrations.tempest.tests import test_scenarios

class Door(test_scenarios.HaScenarioTest):
    def test_door(self):
        self._run(Path(sys.argv[1]))

result = unittest.TestResult()
unittest.TestSuite([Door("test_door")]).run(result)  # a suite runs Tempest's setUpClass
for _test, reason in result.skipped:
    print("SKIPPED:", reason)
for _test, trace in result.failures + result.errors:
    print("FAILED:", trace)
sys.exit(1 if result.failures or result.errors else 0)
"""


@pytest.fixture
def shipped(tmp_path, web):
    """A scenarios directory with kill-web and a profile of it (validate-deployment's)."""
    directory = tmp_path / "scenarios"
    (directory / "profiles").mkdir(parents=True)
    (directory / "kill-web.yaml").write_text(scenario_text(web.port))
    (directory / "profiles" / "local.yaml").write_text(
        "name: local\nmax_total_time: 600\nscenarios: [kill-web]\n")
    return directory


def through(door: str, tmp_path: Path, inventory: Path, shipped: Path) -> tuple[int, str]:
    """Run kill-web through one door as its user would; (exit code, everything it said)."""
    results = tmp_path / door / "results"
    scenario = shipped / "kill-web.yaml"
    env = dict(os.environ, HA_TESTS_SCENARIOS=str(shipped))
    if door == "run":
        argv = [sys.executable, "-m", "ha_tests.cli", "run", str(scenario), "-i",
                str(inventory), "-r", str(results), "--seed", str(SEED), "-q"]
    elif door == "validate-deployment":
        argv = [sys.executable, "-m", "ha_tests.cli", "validate-deployment", "--profile",
                "local", "-i", str(inventory), "-r", str(results), "--seed", str(SEED), "-q"]
    elif door == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                f"--ha-inventory={inventory}", f"--ha-results={results}",
                f"--ha-seed={SEED}", "--ha-no-png", str(scenario)]
    else:
        work = tmp_path / door
        (work / "logs").mkdir(parents=True)
        (work / "tempest.conf").write_text(textwrap.dedent(f"""\
            [DEFAULT]
            log_dir = {work / 'logs'}
            [ha]
            scenarios = {scenario}
            inventory = {inventory}
            results_dir = {results}
            seed = {SEED}
            png_timelines = false
            use_tempest_credentials = false
            """))
        (work / "driver.py").write_text(TEMPEST_DRIVER)
        env.update(TEMPEST_CONFIG_DIR=str(work), TEMPEST_CONFIG="tempest.conf")
        argv = [sys.executable, str(work / "driver.py"), str(scenario)]
    (tmp_path / door).mkdir(exist_ok=True)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path / door)
    return proc.returncode, proc.stdout + proc.stderr


def _kind(name: str) -> str:
    """An output's kind, without the time stamp or label that makes its name unique."""
    for kind in ("gap-table.csv", "report.html", "junit.xml"):
        if name.endswith(kind):
            return kind
    return name


def why(results: Path) -> str:
    """What the runs' summaries say went wrong, for an assertion message."""
    return "; ".join(f"{p.parent.name}: {json.loads(p.read_text()).get('error')} "
                     f"{json.loads(p.read_text()).get('sla_failures')}"
                     for p in results.glob("*/summary.json"))


def what_it_did(results: Path) -> dict:
    """The plan it followed, the locks it held and the outputs it wrote."""
    (run_dir,) = [p.parent for p in results.glob("*/summary.json")]
    summary = json.loads((run_dir / "summary.json").read_text())
    events = read_events(run_dir / "events.jsonl")
    return {
        "status": summary["status"],
        "plan": (summary["seed"], summary["targets"]),
        "locks": [e["held"] for e in events if e["kind"] == "locks"],
        "outputs": sorted({_kind(p.name) for p in results.iterdir() if p.is_file()}
                          | {f"<run>/{p.name}" for p in run_dir.iterdir()
                             if p.name in ("summary.json", "events.jsonl")}),
    }


def test_every_door_follows_one_plan_under_the_same_locks_to_the_same_outputs(
        tmp_path, inventory_file, shipped):
    seen = {}
    for door in NATIVE_DOORS:
        code, said = through(door, tmp_path, inventory_file, shipped)
        assert code == 0, f"{door}: {said[-3000:]} {why(tmp_path / door / 'results')}"
        seen[door] = what_it_did(tmp_path / door / "results")
    first = seen["run"]
    assert first["status"] == "pass"
    assert first["plan"] == (SEED, {"victim": ["local"]})
    assert first["locks"] == [["local"]]
    assert {"<run>/summary.json", "<run>/events.jsonl", "gap-table.csv",
            "report.html"} <= set(first["outputs"])
    for door, did in seen.items():
        # validate-deployment also writes its JUnit file (asked for by default)
        outputs = [o for o in did["outputs"] if not o.endswith("junit.xml")]
        assert {**did, "outputs": outputs} == first, f"{door} differs from 'ha-tests run'"


def test_every_door_refuses_a_destructive_scenario_on_an_inventory_not_marked_test_target(
        tmp_path, inventory_file, shipped):
    production = tmp_path / "production.yaml"
    production.write_text(inventory_file.read_text().replace("test_target: true",
                                                             "test_target: false"))
    for door in NATIVE_DOORS:
        code, said = through(door, tmp_path, production, shipped)
        assert "refusing destructive scenario 'kill-web'" in said, f"{door}: {said[-2000:]}"
        assert "attacker 'kill-process'" in said, door
        # the CLI says it is bad input; the test frameworks skip the test
        assert code == (2 if door in ("run", "validate-deployment") else 0), door
        assert not list((tmp_path / door / "results").glob("*/summary.json")), door


def test_the_tempest_door_fails_a_broken_sla_with_the_reason_its_summary_gives(
        tmp_path, inventory_file, shipped):
    # no fault needed: a TCP monitor on a closed port sees one outage, longer than 1 ms
    (shipped / "kill-web.yaml").write_text(textwrap.dedent("""\
        name: kill-web
        gap: classic
        monitors:
          - {type: tcp, name: web, host: 127.0.0.1, port: 9, interval: 0.05, timeout: 0.5,
             sla: {max_outage: 0.001}}
        steady_state: {before: [], after: []}
        timing: {baseline: 0.3, observe: 0.3, recovery_timeout: 2, recovered_after: 1}
        """))
    code, said = through("tempest", tmp_path, inventory_file, shipped)
    (run_dir,) = [p.parent for p in (tmp_path / "tempest" / "results").glob("*/summary.json")]
    summary = load_summary(run_dir)
    assert code == 1 and summary.status is Status.FAIL, said[-3000:]
    assert f"kill-web: fail: {'; '.join(summary.sla_failures)} (results: {run_dir})" in said


YARDSTICK_CASE = """\
schema: "yardstick:task:0.1"
scenarios:
- type: GeneralHA
  options:
    attackers:
    - {fault_type: kill-process, host: node1, key: kill, process_name: "NAME"}
    monitors:
    - {monitor_type: process, host: node1, key: web-process, monitor_time: 2,
       process_name: "NAME", sla: {max_recover_time: 60}}
    steps:
    - {actionKey: kill, actionType: attacker, index: 1}
    - {actionKey: web-process, actionType: monitor, index: 2}
  nodes: {node1: node1.LF}
  runner: {type: Duration, duration: 1}
context: {type: Node, name: LF, file: pod.yaml}
"""


def yardstick_door(tmp_path, web, monkeypatch, *, test_target: bool, opt_in: bool = False):
    """``ha-tests yardstick run`` as parsed from its command line; the pod's one node is
    made local (a pod.yaml cannot say so) before the Session sees it."""
    from ha_tests import yardstick_cli as commands

    name = f"http.server {web.port}"
    (tmp_path / "pod.yaml").write_text("nodes:\n- {name: node1, role: Controller, "
                                       "ip: 127.0.0.1, user: root, password: x}\n")
    (tmp_path / "inventory.yaml").write_text(textwrap.dedent(f"""\
        test_target: {str(test_target).lower()}
        nodes: [{{name: local, address: 127.0.0.1, transport: local}}]
        services:
          '{name}': {{roles: [controller], manager: command, start: "{web.start_command}"}}
        """))
    case = tmp_path / "opnfv_yardstick_tc900.yaml"
    case.write_text(YARDSTICK_CASE.replace("NAME", name))
    real_load = commands._load

    def load_locally(path, args):
        task = real_load(path, args)
        task.inventory = Inventory.model_validate({
            **task.inventory.model_dump(),
            "nodes": [{**n.model_dump(), "transport": "local"} for n in task.inventory.nodes],
            "services": {k: v.model_dump() for k, v in task.inventory.services.items()}})
        task.inventory._source_file = str(tmp_path / "pod.yaml")
        return task

    monkeypatch.setattr(commands, "_load", load_locally)
    parser = argparse.ArgumentParser(prog="ha-tests")
    commands.register(parser.add_subparsers(dest="command"))
    argv = ["yardstick", "run", str(case), "--pod", str(tmp_path / "pod.yaml"), "-i",
            str(tmp_path / "inventory.yaml"), "-r", str(tmp_path / "results"), "--seed",
            str(SEED), "-q"] + (["--i-know-this-is-destructive"] if opt_in else [])
    args = parser.parse_args(argv)
    return args.func(args)


def test_yardstick_run_goes_through_the_session_too(tmp_path, web, monkeypatch):
    from ha_tests.errors import InputError

    with pytest.raises(InputError, match="refusing destructive scenario"):
        yardstick_door(tmp_path, web, monkeypatch, test_target=False)
    assert not (tmp_path / "results").exists()
    code = yardstick_door(tmp_path, web, monkeypatch, test_target=True)
    assert code == 0, why(tmp_path / "results")
    did = what_it_did(tmp_path / "results")
    assert did["status"] == "pass" and did["plan"][0] == SEED
    assert did["locks"] == [["node1.LF"]]
    assert {"<run>/summary.json", "<run>/events.jsonl", "gap-table.csv", "report.html",
            "yardstick.out"} <= set(did["outputs"])
    record = json.loads((tmp_path / "results" / "yardstick.out").read_text())
    assert record["result"]["testcases"]["opnfv_yardstick_tc900"]["criteria"] == "PASS"
