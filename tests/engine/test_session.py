"""The Session's guarantees, proven on this machine: destructive is decided from what a
scenario uses (never its own word), --dry-run shows the plan the run follows, and node locks
live in a private directory that a planted symlink cannot turn into a weapon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ha_tests.errors import HaTestsError
from ha_tests.events import read_events
from ha_tests.inventory import load_inventory
from ha_tests.locks import hold, lock_dir

CONTROLLERS = "".join(f"""\
  - name: ctl{i}
    roles: [controller]
    address: 127.0.0.1
    transport: local
""" for i in (1, 2, 3))


@pytest.fixture
def production(tmp_path):
    """An inventory of three controllers that is not marked as a test target."""
    path = tmp_path / "production.yaml"
    path.write_text(f"name: production\nnodes:\n{CONTROLLERS}")
    return path


def scenario(tmp_path, body: str, port: int = 9) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent("""\
        name: harmless-it-says
        gap: classic
        destructive: false
        targets:
          controllers: {role: controller, pick: all}
        monitors:
          - {type: tcp, name: web, host: 127.0.0.1, port: PORT, interval: 0.05}
        timing: {baseline: 0.2, observe: 0.2, recovery_timeout: 5, recovered_after: 1}
        """).replace("PORT", str(port)) + textwrap.dedent(body))
    return path


def run_cli(*argv) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", *map(str, argv)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_destructive_false_that_powers_off_every_controller_is_refused(tmp_path, production):
    path = scenario(tmp_path, """\
        attackers:
          - {type: power-off, target: controllers}
        """)
    code, _out, err = run_cli("run", path, "-i", production, "-r", tmp_path / "results")
    assert code == 2, err
    assert "refusing destructive scenario 'harmless-it-says'" in err
    assert "attacker 'power-off'" in err and "--i-know-this-is-destructive" in err
    assert not (tmp_path / "results").exists()  # nothing ran


MARKER_OPERATION = """\
    operations:
      - type: command
        name: stop-services
        target: controllers
        command: touch {marker}
    """
SERVER_DELETE = """\
    operations:
      - {type: openstack, name: delete-server, command: server delete vm1}
    """


@pytest.mark.parametrize("body", [MARKER_OPERATION, SERVER_DELETE], ids=["on-nodes", "cloud"])
def test_operations_only_scenarios_are_refused(tmp_path, production, body):
    marker = tmp_path / "stopped"
    path = scenario(tmp_path, body.replace("{marker}", str(marker)))
    code, _out, err = run_cli("run", path, "-i", production, "-r", tmp_path / "results")
    assert code == 2, err
    assert "refusing destructive scenario" in err and "operation '" in err
    assert not marker.exists() and not (tmp_path / "results").exists()


def test_the_opt_in_runs_what_it_refused(tmp_path, production, web):
    marker = tmp_path / "stopped"
    path = scenario(tmp_path, MARKER_OPERATION.replace("{marker}", str(marker)), port=web.port)
    code, out, err = run_cli("run", path, "-i", production, "-r", tmp_path / "results",
                             "--i-know-this-is-destructive", "-q")
    assert code == 0, out + err
    assert marker.exists()


YARDSTICK_FLAVOR = """\
schema: "yardstick:task:0.1"
scenarios:
- type: GeneralHA
  options:
    monitors:
    - {monitor_type: process, process_name: nova-scheduler, host: node1, key: proc,
       monitor_time: 1}
    operations:
    - {operation_type: general-operation, key: flavor, operation_key: nova-create-flavor,
       action_parameter: {flavorconfig: "m1.large m1.large 64 0 1"},
       rollback_parameter: {flavorid: m1.large}}
    steps:
    - {actionKey: flavor, actionType: operation, index: 1}
    - {actionKey: proc, actionType: monitor, index: 2}
  nodes: {node1: node1.LF}
  runner: {type: Duration, duration: 1}
context: {type: Node, name: LF, file: pod.yaml}
"""


def test_a_yardstick_operation_whose_rollback_deletes_a_flavor_is_refused(tmp_path):
    (tmp_path / "pod.yaml").write_text("nodes:\n- {name: node1, role: Controller, "
                                       "ip: 127.0.0.1, user: root, password: x}\n")
    case = tmp_path / "opnfv_yardstick_tc901.yaml"
    case.write_text(YARDSTICK_FLAVOR)
    code, out, err = run_cli("yardstick", "run", case, "--pod", tmp_path / "pod.yaml",
                             "-r", tmp_path / "results")
    assert code == 2, out + err
    assert "refusing destructive scenario" in err and "with an undo" in err
    assert not (tmp_path / "results").exists()
    # the dry run touches nothing, so it needs no opt-in, and it shows the operation
    code, out, err = run_cli("yardstick", "run", case, "--pod", tmp_path / "pod.yaml",
                             "--dry-run")
    assert code == 0, out + err
    assert "operation flavor: openstack" in out and "flavor" in out and "m1.large" in out


def test_dry_run_lists_operations_needs_no_opt_in_and_touches_nothing(tmp_path, production):
    marker = tmp_path / "stopped"
    path = scenario(tmp_path, MARKER_OPERATION.replace("{marker}", str(marker)))
    code, out, err = run_cli("run", path, "-i", production, "--dry-run", "-r",
                             tmp_path / "results")
    assert code == 0, err
    assert "operation stop-services: command on ctl1, ctl2, ctl3 at after-inject" in out
    assert "destructive: operation 'stop-services'" in out
    assert "locks: ctl1, ctl2, ctl3" in out
    assert "a real run would refuse" in err
    assert not marker.exists() and not (tmp_path / "results").exists()


SEEDED = """\
name: seeded
gap: classic
targets:
  own: {role: controller, pick: one, seed: 11}
  shared: {role: controller, pick: one}
  other: {role: controller, pick: minority}
monitors:
  - {type: tcp, name: web, host: 127.0.0.1, port: PORT, interval: 0.05}
timing: {baseline: 0.2, observe: 0.2, recovery_timeout: 5, recovered_after: 1}
"""


def dry_run_targets(out: str) -> dict[str, list[str]]:
    found = {}
    for line in out.splitlines():
        if line.startswith("  target "):
            name, nodes = line[len("  target "):].split(": ", 1)
            found[name] = nodes.split(" (")[0].split(", ")
    return found


def test_dry_run_shows_the_targets_the_run_picks_own_seeds_included(tmp_path, web):
    inventory = tmp_path / "many.yaml"
    nodes = "".join(f"  - {{name: n{i}, roles: [controller], address: 127.0.0.1, "
                    "transport: local}\n" for i in range(7))
    inventory.write_text(f"name: many\ntest_target: true\nnodes:\n{nodes}")
    path = tmp_path / "seeded.yaml"
    path.write_text(SEEDED.replace("PORT", str(web.port)))
    code, out, err = run_cli("run", path, "-i", inventory, "--seed", "3", "--dry-run")
    assert code == 0, err
    planned = dry_run_targets(out)
    code, out, err = run_cli("run", path, "-i", inventory, "--seed", "3", "-q",
                             "-r", tmp_path / "results")
    assert code == 0, out + err
    (summary,) = [json.loads(p.read_text()) for p in (tmp_path / "results").glob(
        "*/summary.json")]
    assert planned == summary["targets"]


def test_dry_run_fails_naming_a_target_it_cannot_resolve(tmp_path, production):
    path = scenario(tmp_path, "").read_text().replace("{role: controller, pick: all}",
                                                      "{nodes: [ctl9]}")
    (tmp_path / "bad.yaml").write_text(path)
    code, out, err = run_cli("run", tmp_path / "bad.yaml", "-i", production, "--dry-run")
    assert code == 2
    assert "target 'controllers'" in err and "no node 'ctl9'" in err
    assert "did you mean" in err.lower() or "ctl1" in err


# -- locks (issue 16, item 6) -------------------------------------------------------------
def test_the_lock_directory_is_private_and_beside_the_state(tmp_path, production):
    directory = lock_dir(load_inventory(production))
    assert directory.is_relative_to(Path(os.environ["HA_TESTS_STATE_DIR"]))
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    assert oct(directory.parent.stat().st_mode & 0o777) == "0o700"


def test_a_planted_symlink_is_refused_and_nothing_is_truncated(tmp_path, production):
    victim = tmp_path / "precious"
    victim.write_text("do not truncate me")
    planted = lock_dir(load_inventory(production)) / "ctl1.lock"
    planted.symlink_to(victim)
    try:
        with pytest.raises(HaTestsError, match="symlink"), \
                hold(load_inventory(production), ["ctl1"]):
            pass
    finally:
        planted.unlink()
    assert victim.read_text() == "do not truncate me"


def test_one_inventory_spelt_two_ways_shares_its_locks(tmp_path, production):
    link = tmp_path / "also-production.yaml"
    link.symlink_to(production)
    assert lock_dir(load_inventory(link)) == lock_dir(load_inventory(production))


def test_two_runs_cannot_attack_one_node_at_once(tmp_path, inventory_file, scenario_file):
    path = scenario_file()
    procs = [subprocess.Popen([sys.executable, "-m", "ha_tests.cli", "run", str(path), "-i",
                               str(inventory_file), "-q", "-r", str(tmp_path / f"r{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
    windows = []
    for i in range(2):
        (log,) = (tmp_path / f"r{i}").glob("*/events.jsonl")
        events = read_events(log)
        assert [e["held"] for e in events if e["kind"] == "locks"] == [["local"]]
        windows.append((events[0]["wall"], events[-1]["wall"]))
    windows.sort()
    assert windows[0][1] <= windows[1][0], f"two runs attacked 'local' at once: {windows}"


def test_a_gate_run_gets_gap6s_own_row_and_says_what_is_left_before_each(tmp_path,
                                                                            production, web):
    """Policy(gate=...): the Session adds the post-deploy gate's row (gap-6) to the table, the
    CSV and the JUnit suite; Policy(countdown=True): "scenario N of M, about K min left"."""
    from ha_tests.scenario import load_scenario
    from ha_tests.session import Policy, Session

    said: list[str] = []
    junit = tmp_path / "gate.xml"
    session = Session(load_inventory(production), tmp_path / "results",
                      Policy(gate="demo", countdown=True, junit=junit, label="demo"),
                      say=said.append)
    result = session.run(session.plan([load_scenario(scenario(tmp_path, "", port=web.port))]))
    (summary,) = result.summaries
    assert summary.status == "pass", summary
    assert said[0].startswith("== scenario 1 of 1, about ") and said[0].endswith(" min left")
    gate = result.gate_row
    assert gate["gap"] == "gap-6" and result.table == [summary, gate]
    assert gate["headline"][0]["values"] == {
        "scenarios": 1, "measured": 1, "passed": 1,
        "elapsed": gate["headline"][0]["values"]["elapsed"], "exit_code": result.exit_code}
    assert "post-deploy gate (demo)" in result.outputs["csv"].read_text()
    xml = junit.read_text()
    assert 'name="gap-6.headline"' in xml and 'name="gap-6.exit_code"' in xml
