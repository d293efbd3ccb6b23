"""A gate that measured nothing has not passed: ``run`` and ``validate-deployment`` exit 6
(``NOT_MEASURED``) when fewer scenarios ran to a verdict than the gate needs, and the summary
line, the JUnit and the HTML report say "0 of N measured" with why each was not; a profile's
``min_measured:`` raises the bar, ``--allow-skips`` lowers it. Proven with real runs of the
local target (a real web server killed for real) and a scenario whose service it lacks."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from local_target import scenario_text

from ha_tests.coverage import coverage
from ha_tests.errors import ExitCode
from ha_tests.profiles import load_profile

LACKS = "the inventory lacks services this scenario needs: database"


@pytest.fixture
def shipped(tmp_path, web):
    """kill-web, needs-database (a service the local inventory lacks) and three profiles."""
    directory = tmp_path / "scenarios"
    (directory / "profiles").mkdir(parents=True)
    (directory / "kill-web.yaml").write_text(scenario_text(web.port))
    (directory / "needs-database.yaml").write_text(
        scenario_text(web.port).replace("name: kill-web", "name: needs-database")
        .replace("gap: classic", "gap: classic\nrequires: [database]"))
    for name, body in (("none", "scenarios: [needs-database]"),
                       ("half", "scenarios: [kill-web, needs-database]\nmin_measured: 1"),
                       ("bad", "scenarios: [kill-web]\nmin_measured: 2")):
        (directory / "profiles" / f"{name}.yaml").write_text(
            f"name: {name}\nmax_total_time: 600\n{body}\n")
    return directory


def cli(shipped, tmp_path, *argv):
    env = dict(os.environ, HA_TESTS_SCENARIOS=str(shipped))
    proc = subprocess.run([sys.executable, "-m", "ha_tests.cli", *map(str, argv), "-q"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    return proc.returncode, proc.stdout, proc.stderr


def gate_case(junit):
    (case,) = [c for c in ET.parse(junit).getroot().iter("testcase")
               if c.get("classname") == "ha_tests.gate"]
    return case


def test_a_gate_that_measured_nothing_exits_6_and_says_0_of_1_measured_with_why(
        tmp_path, inventory_file, shipped):
    junit, results = tmp_path / "gate.xml", tmp_path / "results"
    code, out, err = cli(shipped, tmp_path, "validate-deployment", "--profile", "none", "-i",
                         inventory_file, "-r", results, "--junit", junit)
    assert code == ExitCode.NOT_MEASURED == 6, out + err
    assert "none: 0/1 passed, 0 of 1 measured (the gate needs at least 1)" in out
    assert f"not measured: needs-database: skipped: {LACKS}" in out
    assert "--allow-skips" in err
    case = gate_case(junit)
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "not-measured"
    assert "0 of 1 measured" in failure.get("message")
    assert LACKS in case.find("system-out").text
    (report,) = results.glob("*-none-report.html")
    html = report.read_text()
    assert "0 of 1 measured" in html and f"needs-database: skipped: {LACKS}" in html


def test_allow_skips_lets_a_gate_that_measured_nothing_pass_and_still_says_so(
        tmp_path, inventory_file, shipped):
    junit = tmp_path / "gate.xml"
    code, out, err = cli(shipped, tmp_path, "validate-deployment", "--profile", "none", "-i",
                         inventory_file, "-r", tmp_path / "results", "--junit", junit,
                         "--allow-skips")
    assert code == ExitCode.PASS, out + err
    assert "0 of 1 measured (the gate needs at least 0 (0% of 1))" in out
    case = gate_case(junit)
    assert case.find("failure") is None and "0 of 1 measured" in case.find("system-out").text


def test_run_that_measured_nothing_exits_6_too(tmp_path, inventory_file, shipped):
    code, out, err = cli(shipped, tmp_path, "run", shipped / "needs-database.yaml", "-i",
                         inventory_file, "-r", tmp_path / "results")
    assert code == ExitCode.NOT_MEASURED, out + err
    assert "0 of 1 measured" in out and LACKS in out


def test_a_profile_min_measured_fails_a_gate_that_measured_less_and_says_both(
        tmp_path, inventory_file, shipped, web):
    junit = tmp_path / "gate.xml"
    code, out, err = cli(shipped, tmp_path, "validate-deployment", "--profile", "half", "-i",
                         inventory_file, "-r", tmp_path / "results", "--junit", junit)
    # kill-web really ran and was measured: an SLA verdict (1) would outrank the gate's 6
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    measured_ok = cases["kill-web"].find("failure") is None
    assert code == (ExitCode.NOT_MEASURED if measured_ok else ExitCode.SLA_FAILED), out + err
    assert "1 of 2 measured (the gate needs at least 2 (100% of 2))" in out
    assert cases["needs-database"].find("skipped") is not None
    assert gate_case(junit).find("failure") is not None


def test_a_profile_min_measured_out_of_range_is_bad_input_naming_the_file(shipped,
                                                                           monkeypatch):
    monkeypatch.setenv("HA_TESTS_SCENARIOS", str(shipped))
    with pytest.raises(Exception) as error:
        load_profile("bad")
    assert "bad.yaml" in str(error.value) and "min_measured" in str(error.value)


def test_allow_skips_refuses_what_is_not_a_share(tmp_path, inventory_file, shipped):
    code, _out, err = cli(shipped, tmp_path, "validate-deployment", "--profile", "none", "-i",
                          inventory_file, "--allow-skips", "5")
    assert code == ExitCode.BAD_INPUT and "not a share" in err


@pytest.mark.parametrize(("statuses", "least", "enough", "headline"), [
    (["skipped"] * 6, None, False, "0 of 6 measured (the gate needs at least 1)"),
    (["skipped"] * 6, 0.0, True, "0 of 6 measured (the gate needs at least 0 (0% of 6))"),
    (["pass", "fail", "skipped"], None, True, "2 of 3 measured"),
    (["pass", "skipped", "skipped"], 0.5, False, "1 of 3 measured (the gate needs at least 2"),
    (["pass", "pass", "skipped"], 0.5, True, "2 of 3 measured"),
    (["pass", "error"], 1.0, False, "1 of 2 measured"),
    ([], None, True, "0 of 0 measured"),
])
def test_coverage_counts_only_what_reached_a_verdict(statuses, least, enough, headline):
    gate = coverage(((f"s{i}", s, "why" if s != "pass" else None)
                     for i, s in enumerate(statuses)), least)
    assert gate.enough is enough and gate.headline.startswith(headline)
    assert set(gate.reasons) == {f"s{i}" for i, s in enumerate(statuses)
                                 if s not in ("pass", "fail")}
