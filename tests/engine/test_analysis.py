"""The history is the truth: a real run's summary comes back from its events.jsonl alone.

The runner writes the history and analyses it; ``ha-tests analyze`` does the same later on a
copy holding nothing but events.jsonl, and must give the same file, byte for byte.
"""

from __future__ import annotations

import shutil

import pytest

from ha_tests.analysis import analyze, iteration_boundaries, summarize
from ha_tests.cli import main
from ha_tests.errors import ExitCode, InputError
from ha_tests.events import read_events
from ha_tests.results import headline_text, junit_case, summary_rows
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario
from ha_tests.summary import Status


def test_a_run_rebuilt_from_its_events_alone_gives_the_same_summary_and_report(
        web, inventory, scenario_file, tmp_path, capsys):
    outcome = ScenarioRunner(load_scenario(scenario_file(sla="max_outage: 30")), inventory,
                             tmp_path / "results", seed=3).run()
    assert outcome.result.status is Status.PASS, outcome.result.error
    written = (outcome.result_dir / "summary.json").read_bytes()
    copy = tmp_path / "copy" / outcome.result_dir.name
    copy.mkdir(parents=True)
    shutil.copy(outcome.result_dir / "events.jsonl", copy)

    assert main(["analyze", str(copy)]) == 0
    assert (copy / "summary.json").read_bytes() == written
    assert (copy / "junit.xml").read_text() == (outcome.result_dir / "junit.xml").read_text()
    assert "kill-web" in (copy / "report.html").read_text()
    assert "kill-web" in capsys.readouterr().out  # the gap-area table

    (outcome.result_dir / "summary.json").unlink()
    analyze(outcome.result_dir)
    assert (outcome.result_dir / "summary.json").read_bytes() == written


def test_every_boundary_of_an_iteration_is_an_event_in_order(web, inventory, scenario_file,
                                                             tmp_path):
    outcome = ScenarioRunner(load_scenario(scenario_file()), inventory,
                             tmp_path / "results").run()
    [bounds] = iteration_boundaries(read_events(outcome.result_dir / "events.jsonl"))
    assert bounds.baseline_start < bounds.t0 < bounds.rollback_start < bounds.rollback_done \
        < bounds.window_end


def history(*, rolled_back: float, window_end: float) -> list[dict]:
    """A run's events: down from 10.1 to 10.9, rollback from 10.5 to ``rolled_back``."""
    events = [{"kind": "run-start", "mono": 0.0, "wall": 1.0e9, "scenario": "s",
               "gap": "classic", "timing": {"recovered_after": 2},
               "monitors": [{"name": "m", "type": "tcp", "gate": True, "sla": {},
                             "interval": 0.1}]},
              {"kind": "phase", "phase": "baseline", "iteration": 0, "mono": 9.0},
              {"kind": "phase", "phase": "inject", "iteration": 0, "mono": 10.0},
              {"kind": "phase", "phase": "rollback", "iteration": 0, "mono": 10.5},
              {"kind": "phase", "phase": "rolled-back", "iteration": 0, "mono": rolled_back},
              {"kind": "phase", "phase": "window-end", "iteration": 0, "mono": window_end},
              {"kind": "phase", "phase": "iteration-end", "iteration": 0, "mono": 30.0},
              {"kind": "run-end", "mono": 31.0, "wall": 1.0e9 + 31, "status": "pass"}]
    samples = [(9.0 + 0.1 * k, 9.05 + 0.1 * k) for k in range(60)]
    events[6:6] = [{"kind": "sample", "monitor": "m", "iteration": 0, "start": start,
                    "end": end, "ok": not 10.1 <= start < 10.9,
                    "status": "ok" if not 10.1 <= start < 10.9 else "fail", "mono": end}
                   for start, end in samples]
    return events


def test_recovery_after_rollback_counts_from_rollback_done_and_the_window_ends_at_its_event():
    [iteration] = summarize(history(rolled_back=10.7, window_end=14.0)).monitors["m"].iterations
    metrics = iteration.metrics
    # the outage ended between the last failed probe's start (10.8) and the next good end
    assert metrics.recovery_time.lo == pytest.approx(0.8)
    assert metrics.recovery_after_rollback.lo == pytest.approx(0.1)  # 10.8 - 10.7
    assert metrics.window == pytest.approx(4.0)  # not up to iteration-end (30.0)


def test_analyze_names_the_directory_that_holds_no_history(tmp_path, capsys):
    with pytest.raises(InputError, match="no events.jsonl") as error:
        analyze(tmp_path)
    assert str(tmp_path) in str(error.value)
    assert main(["analyze", str(tmp_path)]) == ExitCode.BAD_INPUT
    said = capsys.readouterr().err
    assert str(tmp_path) in said and "no run history here" in said and "ha-tests run" in said


def test_the_headline_is_the_analysis_answer_to_the_scenarios_own_headline_spec(
        web, inventory, scenario_file, tmp_path):
    path = scenario_file()
    path.write_text(path.read_text() + "headline: {kind: worst-outage, label: web-A/P}\n")
    outcome = ScenarioRunner(load_scenario(path), inventory, tmp_path / "results").run()
    events = read_events(outcome.result_dir / "events.jsonl")
    [start] = [e for e in events if e["kind"] == "run-start"]
    assert (start["headline"]["kind"], start["headline"]["label"]) == ("worst-outage",
                                                                        "web-A/P")
    [found] = outcome.result.headline
    assert (found.iteration, found.kind, found.label) == (0, "worst-outage", "web-A/P")
    assert summarize(events).headline == outcome.result.headline  # 'analyze' reproduces it
    assert headline_text(outcome.result) == found.figure
    assert headline_text(outcome.result) in summary_rows([outcome.result])[0]
    xml = junit_case(outcome.result).tostring().decode()
    assert f'name="headline" value="{found.figure}"' in xml


def test_a_history_without_a_headline_spec_gets_its_gap_areas_default():
    events = history(rolled_back=10.7, window_end=14.0)
    [found] = summarize(events).headline
    assert found.kind == "worst-outage" and found.label is None  # the classic gap's kind
    events[0]["headline"] = {"kind": "volume-service", "monitor": "m", "label": "A/A"}
    [found] = summarize(events).headline
    assert (found.kind, found.label) == ("volume-service", "A/A")
    assert found.figure.startswith("A/A: outage 0.")  # down from 10.1 to 10.9 at 0.1 s
