"""Every reader of summary.json reads it through the typed models (ha_tests.summary), proven
on the summaries of real runs of the local target: the report's records, timeline and page,
the history's compare and trends, the OpenMetrics series, the live endpoint, the exports,
yardstick.out, a door's outcome and the Session. A summary of another schema version is
refused whichever way it comes in."""

from __future__ import annotations

import html
import json
import shutil
import textwrap

import pytest
from local_target import WebServer, free_port, scenario_text
from prometheus_client import CollectorRegistry

from ha_tests.analysis import analyze
from ha_tests.errors import ExitCode, InputError
from ha_tests.inventory import load_inventory
from ha_tests.report.history import against_last, compare, worst_gated
from ha_tests.report.live import LiveRunCollector
from ha_tests.report.openmetrics import build_registry
from ha_tests.report.page import render
from ha_tests.report.records import load_run, load_runs
from ha_tests.report.timeline import iteration_metrics
from ha_tests.results import load_summary, worst_availability
from ha_tests.run_exports import _summary_only
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario
from ha_tests.summary import SCHEMA_VERSION, Interval, Metrics, RunSummary, Status
from ha_tests.yardstick.output import CaseResult, yardstick_record

#: one worker makes the module's two runs once (under pytest-xdist's --dist loadgroup)
pytestmark = pytest.mark.xdist_group("summary-readers")

SLA = "max_outage: 30, max_recovery: 20"
BROKEN = "max_outage: 0.001"


def kill_web(port: int, sla: str) -> str:
    """local_target's kill-web with its TCP monitor alone: the readers need one gated
    monitor's figures, and a process monitor would list every process ten times a second."""
    text = scenario_text(port, sla=sla)
    start = text.index("  - type: process")
    return text[:start] + text[text.index("timing:"):]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real runs of kill-web, each in a results tree of its own: 'before' passes, and
    'after' fails its outage limit (the kill takes longer than a millisecond to heal)."""
    root = tmp_path_factory.mktemp("readers")
    web = WebServer(free_port())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HA_TESTS_STATE_DIR", str(root / "state"))
        web.start()
        try:
            (root / "inventory.yaml").write_text(textwrap.dedent(f"""\
                name: local
                test_target: true
                nodes: [{{name: local, roles: [web], address: 127.0.0.1, transport: local}}]
                services:
                  web: {{roles: [web], process: '{web.pattern}', manager: command,
                         start: "{web.start_command}"}}
                """))
            inventory = load_inventory(root / "inventory.yaml")
            outcomes = {}
            for side, sla in (("before", SLA), ("after", BROKEN)):
                path = root / f"{side}.yaml"
                path.write_text(kill_web(web.port, sla))
                outcomes[side] = ScenarioRunner(load_scenario(path), inventory,
                                                root / side, seed=3).run()
        finally:
            web.stop()
    assert outcomes["before"].status == "pass", outcomes["before"].result
    assert outcomes["after"].status == "fail", outcomes["after"].result
    return outcomes


def test_a_runs_outcome_is_typed_and_its_dict_view_is_deprecated(runs):
    outcome = runs["after"]
    assert isinstance(outcome.status, Status) and outcome.status is Status.FAIL
    assert outcome.result == load_summary(outcome.result_dir)
    assert outcome.result.sla_failures and outcome.result.sla_failures[0].startswith("web: ")
    with pytest.warns(DeprecationWarning, match="RunOutcome.result"):
        view = outcome.summary
    assert view == json.loads((outcome.result_dir / "summary.json").read_text())


def test_the_reports_records_and_timeline_hold_the_typed_summary(runs):
    outcome = runs["before"]
    record = load_run(outcome.result_dir)
    assert isinstance(record.summary, RunSummary) and record.summary == outcome.result
    assert record.scenario == "kill-web" and record.finished == outcome.result.finished
    metrics = iteration_metrics(record, "web", 0)
    assert isinstance(metrics, Metrics)
    assert metrics == outcome.result.monitors["web"].iterations[0].metrics
    assert iteration_metrics(record, "web", 1) is None
    assert iteration_metrics(record, "no-such-monitor", 0) is None


def test_the_page_shows_what_the_typed_summary_says(runs):
    failed = load_run(runs["after"].result_dir)
    page = render([failed])
    summary = failed.summary
    assert "<span class='badge fail'>FAIL</span>" in page
    assert "<b>SLA not met:</b> " + html.escape(summary.sla_failures[0]) in page
    recovery = summary.monitors["web"].iterations[0].metrics.recovery_time
    assert f"{recovery.value:.2f} s ± {recovery.error:.2f}" in page
    assert f"seed {summary.seed} · inventory local" in page
    assert "1 scenario runs: 1 fail" in page


def test_history_compares_and_trends_with_the_runs_own_intervals(runs):
    before, after = runs["before"], runs["after"]
    [earlier], [now] = load_runs([before.result_dir]), load_runs([after.result_dir])
    recovery = after.result.monitors["web"].iterations[0].metrics.recovery_time
    assert worst_gated(now.summary, "recovery_time") == recovery
    changes = {c.measure: c for c in compare([earlier], [now])}
    assert changes["recovery_time"].before == worst_gated(earlier.summary, "recovery_time")
    assert changes["recovery_time"].after == recovery
    assert changes["availability"].after == worst_availability(after.result)
    assert isinstance(changes["availability"].after, Interval)
    assert changes["verdict pass -> fail"].verdict == "worse"
    trend = against_last(now, [earlier], 5)
    assert trend.current == recovery and trend.gap == "classic"
    assert trend.earlier == [worst_gated(earlier.summary, "recovery_time")]
    assert trend.change.lo <= trend.change.value <= trend.change.hi


def test_openmetrics_series_are_the_typed_summarys_figures(runs):
    summary = runs["after"].result
    registry = build_registry([summary])
    labels = {"scenario": "kill-web", "gap": "classic", "monitor": "web", "iteration": "0"}
    metrics = summary.monitors["web"].iterations[0].metrics
    value = registry.get_sample_value
    assert value("ha_tests_recovery_seconds", labels) == metrics.recovery_time.value
    assert value("ha_tests_recovery_lower_seconds", labels) == metrics.recovery_time.lo
    assert value("ha_tests_recovery_upper_seconds", labels) == metrics.recovery_time.hi
    assert value("ha_tests_outages", labels) == metrics.outage_count
    assert value("ha_tests_verdict", {"scenario": "kill-web", "gap": "classic",
                                      "ha_tests_verdict": "fail"}) == 1.0
    assert value("ha_tests_gap_availability_ratio", {"gap": "classic"}) == \
        worst_availability(summary).value


def test_the_live_endpoint_and_the_exports_read_finished_runs_typed(runs, tmp_path):
    outcome = runs["before"]
    registry = CollectorRegistry()
    collector = LiveRunCollector(tmp_path / "results")
    registry.register(collector)
    # the run appears in the results tree while the endpoint serves (it ignores older ones)
    shutil.copytree(outcome.result_dir, tmp_path / "results" / outcome.result_dir.name)
    assert registry.get_sample_value("ha_tests_verdict", {
        "scenario": "kill-web", "gap": "classic", "ha_tests_verdict": "pass"}) == 1.0
    assert collector.finished_summaries() == [outcome.result]
    exported = _summary_only(outcome.result_dir)
    assert exported.summary == outcome.result and exported.events == []


def test_yardstick_out_from_a_real_runs_summary(runs):
    outcome = runs["after"]
    case = CaseResult("tc900", "kill-web", {"web": "web-tag"}, load_summary(outcome.result_dir),
                      result_dir=str(outcome.result_dir))
    assert case.status is Status.FAIL
    record = yardstick_record([case], task_id="t", environ={})
    [data] = record["result"]["testcases"]["tc900"]["tc_data"]
    metrics = outcome.result.monitors["web"].iterations[0].metrics
    assert data["errors"] == "; ".join(outcome.result.sla_failures)
    assert data["data"]["sla_pass"] == 0
    assert data["data"]["web-tag_longest_outage"] == metrics.longest_outage.value
    assert data["data"]["web-tag_outage_count"] == metrics.error_count
    assert data["data"]["web-tag_availability"] == metrics.availability.lo
    honest = data["data"]["ha_tests"]
    assert honest["status"] == "fail" and honest["rollback_ok"] is True
    [verdict] = [v for v in honest["verdicts"]["web-tag"] if v["limit"] == "max_outage"]
    assert verdict["pass"] is False   # the JSON's own name, as yardstick.out had it
    json.dumps(record)


def test_a_summary_of_another_schema_version_is_refused_every_way_in(runs, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(runs["before"].result_dir, copy)
    path = copy / "summary.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert load_summary(path) == load_summary(copy)   # the file itself may be named
    data["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    for read in (load_summary, load_run):
        with pytest.raises(InputError) as refused:
            read(copy)
        said = str(refused.value)
        assert str(path) in said and f"schema version {SCHEMA_VERSION + 1}" in said, said
        assert f"ha-tests analyze {copy}" in said, said
    with pytest.raises(ValueError, match=f"schema version {SCHEMA_VERSION + 1}.*ha-tests "
                                         "analyze"):
        RunSummary.model_validate(data)   # a door's dict is held to the same version
    with pytest.raises(ValueError, match="schema version 0"):
        RunSummary.of({**data, "schema_version": 0})
    analyze(copy)   # the fix it names works (and the session's closing check agrees)
    assert load_summary(copy) == runs["before"].result


def test_the_session_counts_coverage_once_and_hands_that_one_to_the_reporters(
        tmp_path, monkeypatch):
    from ha_tests import reporters, session

    counted, handed = [], []
    count = session.measured
    monkeypatch.setattr(session, "measured", lambda *a: counted.append(a) or count(*a))
    write_all = reporters.write_all
    monkeypatch.setattr(reporters, "write_all", lambda run: handed.append(run) or
                        write_all(run))
    path = tmp_path / "kill-web.yaml"
    path.write_text(kill_web(9, SLA))
    inventory = load_inventory_text(tmp_path)
    # a budget of nothing: the scenario is skipped before it touches anything
    run = session.Session(inventory, tmp_path / "results", session.Policy(max_time=0))
    result = run.run(run.plan([load_scenario(path)]))
    assert result.exit_code == ExitCode.NOT_MEASURED and not result.coverage.enough
    [outputs] = handed
    assert outputs.gate is result.coverage is result.coverage
    assert len(counted) == 1
    [skipped] = result.ran
    assert skipped.status is Status.SKIPPED and isinstance(skipped.summary, RunSummary)
    assert skipped.summary.skip_reason == "time budget of 0 s used up" == skipped.why
    assert result.summaries == [skipped.summary] == outputs.summaries


def load_inventory_text(directory):
    (directory / "inventory.yaml").write_text(
        "name: local\ntest_target: true\nnodes: [{name: local, roles: [web], address: "
        "127.0.0.1, transport: local}]\nservices:\n  web: {roles: [web], process: 'x'}\n")
    return load_inventory(directory / "inventory.yaml")
