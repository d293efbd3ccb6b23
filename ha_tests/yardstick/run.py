"""Run a loaded Yardstick task with the ha-tests engine and collect Yardstick's output.

The one thing added around the engine: a monitor whose OpenStack service the cloud's catalog
lacks (``openstack image list`` on an identity-only cloud) is reported *not applicable*,
never passed, and is left out of the run, so it cannot fail preflight either.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from ha_tests.context import RunContext
from ha_tests.inventory import Inventory
from ha_tests.scenario import Scenario, parse_scenario
from ha_tests.yamlsource import load_text
from ha_tests.yardstick.catalogue import CATALOG_ALIASES
from ha_tests.yardstick.loader import LoadedTask, YardstickCase, dump_native
from ha_tests.yardstick.mapping import MappedCase
from ha_tests.yardstick.output import CaseResult

log = logging.getLogger(__name__)


def catalog_services(inventory: Inventory, timeout: float = 10.0) -> set[str] | None:
    """Service types in the cloud's catalog; None when it cannot be read (then nothing is
    declared not applicable: the monitors run and fail honestly if the cloud is broken)."""
    from ha_tests.monitors.api import open_connection

    ctx = RunContext(inventory)
    try:
        conn = open_connection(ctx, timeout)
        access = conn.session.auth.get_access(conn.session)
        return {entry.get("type") for entry in access.service_catalog.catalog or []}
    except Exception as exc:  # no credentials, keystone down: decide nothing
        log.warning("cannot read the service catalog (%s); every monitor is run", exc)
        return None
    finally:
        ctx.close()


def _lacks(need: str, available: set[str]) -> bool:
    return not set(CATALOG_ALIASES.get(need, (need,))) & available


def not_applicable(case: MappedCase, available: set[str] | None) -> dict[str, str]:
    """Native monitor name -> why it does not apply to this cloud."""
    if available is None:
        return {}
    return {name: f"the cloud's catalog has no {need} service"
            for name, need in case.needs.items() if _lacks(need, available)}


def attacks_not_applicable(case: MappedCase, available: set[str] | None) -> dict[str, str]:
    """Native attacker name -> why: killing nova-api on a cloud without compute tests nothing."""
    if available is None:
        return {}
    return {name: f"the cloud's catalog has no {need} service"
            for name, need in case.attack_needs.items() if _lacks(need, available)}


def ground_truth_monitors(native: dict) -> list[dict]:
    """Non-gated host-status monitors on the attacked nodes.

    When none of a case's own monitors applies to the cloud, the fault still runs (and is
    rolled back and verified): these observe it from outside, and judge nothing, so the
    missing monitors stay "not applicable" rather than passing.
    """
    targets = sorted({a["target"] for a in native.get("attackers", []) if a.get("target")})
    return [{"type": "host-status", "name": f"ground-truth-{t}", "target": t,
             "checks": ["ping", "ssh"], "interval": 1.0, "timeout": 3.0, "gate": False}
            for t in targets]


def without_monitors(case: MappedCase, dropped: set[str], file: str) -> Scenario | None:
    """The case's scenario minus the monitors that do not apply; None if nothing is left
    to run (no monitor applies and no fault to observe)."""
    pruned = copy.copy(case)
    native = copy.deepcopy(case.native)
    native["monitors"] = [m for m in native["monitors"] if m["name"] not in dropped]
    if not native["monitors"]:
        native["monitors"] = ground_truth_monitors(native)
    if not native["monitors"]:
        return None
    pruned.native = native
    data, source = load_text(dump_native(pruned), f"{file} (as converted)")
    return parse_scenario(data, source)


def run_case(case: YardstickCase, inventory: Inventory, results_root: Path,
             available: set[str] | None, **runner_options: Any) -> CaseResult:
    from ha_tests.runner import ScenarioRunner

    dropped = not_applicable(case.mapped, available)
    result = CaseResult(case.test_case, case.name, dict(case.mapped.tags), None, dropped)
    attacks = attacks_not_applicable(case.mapped, available)
    if attacks:
        result.not_applicable.update(attacks)
        result.skipped = "the fault does not apply to this cloud: " + "; ".join(
            f"{n}: {why}" for n, why in attacks.items())
        return result
    scenario = case.scenario
    if dropped:
        scenario = without_monitors(case.mapped, set(dropped), case.file)
        if scenario is None:
            result.skipped = "no monitor applies to this cloud: " + "; ".join(
                f"{n}: {why}" for n, why in dropped.items())
            return result
    outcome = ScenarioRunner(scenario, inventory, results_root, **runner_options).run()
    result.summary = outcome.result
    result.result_dir = str(outcome.result_dir)
    return result


def run_task(task: LoadedTask, results_root: Path, *, check_catalog: bool = True,
             **runner_options: Any) -> list[CaseResult]:
    """Each scenario of the task in order, as Yardstick runs them serially."""
    if task.skipped:
        return [CaseResult(c.test_case, c.name, dict(c.mapped.tags), None,
                           skipped=f"precondition not met: {task.skipped}")
                for c in task.cases]
    if task.inventory is None:
        from ha_tests.errors import InputError, Problem

        raise InputError(Problem(task.test_case, None, None, "context.file",
                                 f"test case {task.test_case}: no pod.yaml to run against",
                                 "pass --pod pod.yaml"))
    needs_catalog = check_catalog and any(c.mapped.needs or c.mapped.attack_needs
                                          for c in task.cases)
    available = catalog_services(task.inventory) if needs_catalog else None
    results = []
    for case in task.cases:
        result = run_case(case, task.inventory, results_root, available, **runner_options)
        results.append(result)
        if result.status == "interrupted":
            break
    return results
