"""pytest plugin: every scenario YAML is a test item; a fixture API for HA tests in Python.

``pytest scenarios/`` collects files that look like scenarios (a mapping with ``gap`` and
``monitors``). Items carry a marker per gap area (``ha_gap_1`` ... ``ha_classic``). Each item
runs through the same Session as ``ha-tests run`` (ha_tests.session): the same destructive
decision (a refused scenario is a skip here), the same node locks (so pytest-xdist workers
never attack one node at once) and the same outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ha_tests.destructive import destructive_reasons
from ha_tests.errors import InputError

GAP_MARKERS = {gap: f"ha_{gap.replace('-', '_')}" for gap in
               ("gap-1", "gap-2", "gap-3", "gap-4", "gap-5", "gap-6", "classic")}


def pytest_addoption(parser):
    group = parser.getgroup("ha-tests", "HA fault-injection scenarios")
    group.addoption("--ha-inventory", help="inventory file (default: $HA_TESTS_INVENTORY, "
                    "else the lab's)")
    group.addoption("--ha-results", help="results directory (default: ./results)")
    group.addoption("--ha-seed", type=int, help="seed for random target picks")
    group.addoption("--ha-no-png", action="store_true",
                    help="do not render PNG timelines (they need Chromium) for JUnit attachments")
    group.addoption("--ha-i-know-this-is-destructive", action="store_true",
                    help="allow destructive scenarios on an inventory not marked test_target")


def pytest_configure(config):
    for gap, marker in GAP_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: HA scenario probing {gap}")
    config.addinivalue_line("markers", "ha_destructive: the scenario injects faults")


def _looks_like_scenario(path: Path) -> bool:
    from ha_tests.yamlsource import read_head

    head = read_head(path, 20000)
    if head is None:
        return False
    return "\ngap:" in "\n" + head and "\nmonitors:" in "\n" + head


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".yaml", ".yml") and _looks_like_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        from ha_tests.scenario import load_scenario

        try:
            scenario = load_scenario(self.path)
        except InputError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)
        item.add_marker(GAP_MARKERS[scenario.gap])
        if destructive_reasons(scenario):
            item.add_marker("ha_destructive")
        yield item


class ScenarioFailed(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.outcome = None

    def runtest(self):
        outcome = run_scenario(self.config, self.scenario)
        self.outcome = outcome
        self.user_properties.append(("ha_result_dir", str(outcome.result_dir)))
        self._attach(outcome.result_dir)
        result = outcome.result
        if outcome.status == "skipped":
            pytest.skip((result and result.skip_reason) or "skipped")
        if outcome.status != "pass":
            failures = result.sla_failures if result else []
            raise ScenarioFailed(f"{outcome.status}: "
                                 + ("; ".join(failures) or (result and result.error) or "")
                                 + f" (results: {outcome.result_dir})")

    def _attach(self, result_dir):
        """report.html and PNG timelines, named in JUnit as attachments (property and the
        ``[[ATTACHMENT|path]]`` line of the JUnit Attachments convention)."""
        from ha_tests.report.artifacts import attachment_lines, scenario_artifacts

        paths = scenario_artifacts(result_dir, png=not self.config.getoption("--ha-no-png"))
        for path in paths:
            self.user_properties.append(("attachment", str(path)))
        if paths:
            self.add_report_section("call", "attachments", attachment_lines(paths))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ScenarioFailed | InputError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.scenario.name} ({self.scenario.gap})"


def _inventory(config):
    from ha_tests.inventory_formats import resolve_inventory

    return resolve_inventory(config.getoption("--ha-inventory"))


def run_scenario(config, scenario, inventory=None):
    """One scenario through the Session, as ``ha-tests run`` runs it; a scenario the
    destructive policy refuses is skipped with the reason and how to allow it."""
    from ha_tests.session import Policy, Session

    inventory = inventory or _inventory(config)
    results = Path(config.getoption("--ha-results") or os.environ.get("HA_TESTS_RESULTS")
                   or "results")
    policy = Policy(allow_destructive=config.getoption("--ha-i-know-this-is-destructive"),
                    opt_in="pass --ha-i-know-this-is-destructive", seed=config.getoption(
                        "--ha-seed"), label=scenario.name)
    session = Session(inventory, results, policy)
    plan = session.plan([scenario])
    refusal = plan.refusal()
    if refusal is not None:
        pytest.skip(str(refusal))
    (ran,) = session.run(plan).ran
    from ha_tests.runner import RunOutcome

    return RunOutcome(ran.status, ran.result_dir, ran.summary)


@pytest.fixture
def ha_inventory(request):
    """The inventory under test (--ha-inventory, $HA_TESTS_INVENTORY, else the lab)."""
    return _inventory(request.config)


@pytest.fixture
def ha_run(request, ha_inventory):
    """Run a scenario (a path, or a dict in the scenario format) and return its RunOutcome."""
    from ha_tests.scenario import load_scenario, parse_scenario
    from ha_tests.yamlsource import SourceMap

    def run(scenario):
        if isinstance(scenario, dict):
            scenario = parse_scenario(scenario, SourceMap("<dict>"))
        elif not hasattr(scenario, "model"):
            scenario = load_scenario(scenario)
        return run_scenario(request.config, scenario, ha_inventory)

    return run
