"""Every Yardstick HA test case, with every sample pod: a valid native scenario, or a clear
error naming the test case and the field. Never a traceback."""

from __future__ import annotations

import re

import pytest
from yardstick_corpus import PODS, TESTCASES, YARDSTICK

from ha_tests.errors import InputError
from ha_tests.scenario import load_scenario
from ha_tests.yardstick import convert_cases

ABSENT = pytest.mark.skip(reason=f"Yardstick's corpus is not at {YARDSTICK}")
CASES = [pytest.param(p, id=p.stem) for p in TESTCASES] or [pytest.param(None, marks=ABSENT)]
POD_CHOICES = [pytest.param(None, id="no-pod")] + [pytest.param(p, id=p.name) for p in PODS]

#: why each test case that cannot run is refused (stable whatever plugins are installed)
REFUSED = {
    "opnfv_yardstick_tc057": ("operations[0].operation_key", "no ha-tests equivalent"),
    "opnfv_yardstick_tc058": ("contexts[1]", "Heat context"),
    "opnfv_yardstick_tc087": ("contexts[1]", "Heat context"),
    "opnfv_yardstick_tc092": ("contexts[1]", "Heat context"),
    "opnfv_yardstick_tc093": ("contexts[1]", "Heat context"),
}
#: test cases whose plugins (kill-process, process, openstack-cmd, command) are finished
RUNNABLE = {"opnfv_yardstick_tc019", "opnfv_yardstick_tc045", "opnfv_yardstick_tc046",
            "opnfv_yardstick_tc047", "opnfv_yardstick_tc048", "opnfv_yardstick_tc049",
            "opnfv_yardstick_tc052", "opnfv_yardstick_tc053", "opnfv_yardstick_tc056",
            "opnfv_yardstick_tc088", "opnfv_yardstick_tc089", "opnfv_yardstick_tc090",
            "opnfv_yardstick_tc091", "sample_ha-service", "sample_serviceha"}


def pod_has_nodes(pod, text: str) -> bool:
    if pod is None:
        return True
    names = set(re.findall(r"name:\s*(\S+)", pod.read_text()))
    needed = set(re.findall(r"set \w*host\w* = \w+ or ['\"](\w+)['\"]", text))
    needed |= set(re.findall(r"host: (node\d+)", text))
    return needed <= names


@pytest.mark.parametrize("pod", POD_CHOICES)
@pytest.mark.parametrize("case", CASES)
def test_each_case_converts_or_is_refused_clearly(case, pod, tmp_path):
    try:
        documents, _warnings = convert_cases(case, pod)
    except InputError as exc:
        message = str(exc)
        assert case.stem in message, message
        assert all(p.path for p in exc.problems), message  # names the field
        if case.stem in REFUSED:
            field, why = REFUSED[case.stem]
            assert field in message and why in message, message
        else:
            assert case.stem not in RUNNABLE or not pod_has_nodes(pod, case.read_text()), \
                message
        return
    assert case.stem not in REFUSED
    for index, (name, text) in enumerate(documents):
        written = tmp_path / f"{index}.yaml"
        written.write_text(text)
        scenario = load_scenario(written)  # what a user who moves over runs
        assert scenario.name == name
        assert scenario.monitors


@pytest.mark.parametrize("name", sorted(RUNNABLE))
def test_runnable_cases_convert_with_a_matching_pod(name, testcase, pod):
    documents, _warnings = convert_cases(testcase(name), pod("fuel_virtual_pod.yaml"))
    assert len(documents) == 1
