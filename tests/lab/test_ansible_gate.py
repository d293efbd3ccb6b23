"""The Ansible role an installer runs after deploying: ansible-playbook installs ha-tests,
gates on the lab, fetches JUnit and the report, and fails the play when the gate fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


@pytest.fixture
def scenarios(tmp_path):
    """Two profiles over the lab's keystone kill: one the lab passes, one whose SLA (the
    killed process itself never down) no kill can meet."""
    root = tmp_path / "scenarios"
    (root / "profiles").mkdir(parents=True)
    kill = yaml.safe_load((REPO / "scenarios" / "kill-keystone.yaml").read_text())
    strict = {**kill, "name": "kill-keystone-strict"}
    # the profile that passes has no SLA: whether the lab meets one is its timing, not the role's
    kill = {**kill, "monitors": [{k: v for k, v in m.items() if k != "sla"}
                                 for m in kill["monitors"]]}
    kill.pop("sla", None)
    (root / "kill-keystone.yaml").write_text(yaml.safe_dump(kill))
    strict["monitors"] = [dict(m) for m in kill["monitors"]]
    strict["monitors"][1].update(gate=True, sla={"max_outage": 0})
    (root / "kill-keystone-strict.yaml").write_text(yaml.safe_dump(strict))
    for name, scenario in (("gate-pass", "kill-keystone"), ("gate-fail", "kill-keystone-strict")):
        (root / "profiles" / f"{name}.yaml").write_text(yaml.safe_dump(
            {"name": name, "max_total_time": 600, "scenarios": [scenario]}))
    return root


@pytest.fixture
def venv(tmp_path):
    """An empty virtualenv for the role to install ha-tests into; its dependencies are
    borrowed from this test's environment, so the play needs no package index."""
    path = tmp_path / "venv"
    subprocess.run([os.path.join(sys.base_prefix, "bin", "python3"), "-m", "venv", str(path)],
                   check=True)
    site = subprocess.run([str(path / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "ha-tests-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path


def play(tmp_path, scenarios, venv, lab, profile: str, install: bool):
    play_dir = tmp_path / "play"
    play_dir.mkdir(exist_ok=True)
    # the installer's inventory: its deploy host (here this machine)
    (play_dir / "hosts.ini").write_text(
        f"[deploy]\ndeploy-host ansible_connection=local "
        f"ansible_python_interpreter={sys.executable}\n")
    (play_dir / "gate.yml").write_text(textwrap.dedent("""\
        - hosts: deploy
          gather_facts: false
          roles: [ha_tests_gate]
        """))
    extra = {"ha_tests_gate_package": str(REPO), "ha_tests_gate_install": install,
             "ha_tests_gate_pip_extra_args": "--no-deps", "ha_tests_gate_venv": str(venv),
             "ha_tests_gate_inventory": str(lab.inventory_path),
             "ha_tests_gate_profile": profile,
             "ha_tests_gate_results": str(tmp_path / "gate" / profile),
             "ha_tests_gate_fetch_to": str(tmp_path / "fetched" / profile),
             "ha_tests_gate_environment": {"HA_TESTS_SCENARIOS": str(scenarios)}}
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "ansible" / "roles"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    return subprocess.run([str(PLAYBOOK), "-i", str(play_dir / "hosts.ini"),
                           str(play_dir / "gate.yml"), "-e", json.dumps(extra)],
                          capture_output=True, text=True, timeout=900, env=env, cwd=play_dir)


def test_ansible_role_installs_gates_fetches_and_fails_the_play_on_the_exit_code(
        lab, tmp_path, scenarios, venv):
    passed = play(tmp_path, scenarios, venv, lab, "gate-pass", install=True)
    assert passed.returncode == 0, passed.stdout[-4000:] + passed.stderr[-2000:]
    # the role installed the ha-tests that ran: a copy of this checkout in its venv
    installed = subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import ha_tests; print(ha_tests.__file__)"],
                               capture_output=True, text=True, check=True,
                               cwd=tmp_path).stdout
    assert installed.startswith(str(venv)), installed
    fetched = tmp_path / "fetched" / "gate-pass" / "deploy-host"
    [case] = [c for c in ET.parse(fetched / "junit.xml").getroot().iter("testcase")
              if c.get("classname") != "ha_tests.gate"]  # the gate's own 'measured' case
    assert case.get("name") == "kill-keystone" and case.find("failure") is None
    (report,) = fetched.glob("*-gate-pass-report.html")
    assert "kill-keystone" in report.read_text()

    failed = play(tmp_path, scenarios, venv, lab, "gate-fail", install=False)
    assert failed.returncode != 0, failed.stdout[-4000:]
    assert "ha-tests validate-deployment exited 1 (an HA SLA failed)" in failed.stdout
    fetched = tmp_path / "fetched" / "gate-fail" / "deploy-host"
    [case] = [c for c in ET.parse(fetched / "junit.xml").getroot().iter("testcase")
              if c.get("classname") != "ha_tests.gate"]  # the gate's own 'measured' case
    assert case.get("name") == "kill-keystone-strict"
    assert "keystone-process" in case.find("failure").get("message")
