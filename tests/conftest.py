"""The session's lab: brought up once for every test marked ``lab``, always taken down.

Name and range come from ``HA_TESTS_TEST_LAB_NAME`` / ``HA_TESTS_TEST_LAB_CIDR`` (defaults
``halabt`` / ``10.198.0.0/16``, apart from a demo lab's ``halab`` / ``10.199.0.0/16``).
"""

from __future__ import annotations

import json
import os

import pytest
from history_check import differences, finished_runs
from lab_session import session_lab
from lab_settings import LAB_CIDR, LAB_NAME

from ha_tests.locks import state_dir

if os.environ.get("PYTEST_XDIST_WORKER"):
    # each worker its own fault ledger and locks: a heal in one worker never touches the
    # faults another worker's run holds on another lab
    os.environ["HA_TESTS_STATE_DIR"] = str(state_dir() / os.environ["PYTEST_XDIST_WORKER"])


def _why_no_lab() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, bridges); run the lab tests as root"
    try:
        import gunicorn  # noqa: F401
        import keystone  # noqa: F401
    except ImportError as error:
        return f"the lab needs the 'lab' extra (pip install -e .[lab]): {error}"
    return None


#: what a test holds that another test must not hold at the same moment, first match wins:
#: each lab by its fixture (the lab marker: tests that bring up or take down the session's
#: lab themselves), podman's storage, the ping targets' host bridge
GROUPS = (("full", lambda item: "full_lab" in item.fixturenames),
          ("kolla", lambda item: "kolla_lab" in item.fixturenames
           or item.path.name == "test_discovery_podman.py"),
          ("pacemaker", lambda item: "pacemaker_lab" in item.fixturenames),
          ("lab", lambda item: "lab" in item.fixturenames or "lab" in item.keywords),
          ("netns", lambda item: "netns_targets" in item.fixturenames))
#: the same groups by file, for xdist's scheduler (it sees only test ids): a file's tests
#: all run on one worker, one after the other, and so do the files of one group
GROUP_FILES = {
    "full": ("tests/full/",),
    "kolla": ("tests/lab/test_kolla_lab.py", "tests/lab/test_discovery_podman.py"),
    "pacemaker": ("tests/lab/test_pacemaker_lab.py",),
    "lab": ("tests/lab/", "tests/attackers/test_attack_lab.py",
            "tests/monitors/test_lab_cloud.py", "tests/yardstick/test_yardstick_lab.py"),
    "netns": ("tests/monitors/test_vm_ping.py",),
}
#: under pytest-xdist the longest group first: the full lab's tests take half the suite
ORDER = ("full", "lab", "kolla", "pacemaker", "netns")


def group_of(item) -> str | None:
    return next((name for name, holds in GROUPS if holds(item)), None)


def file_group(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    # the kolla lab's files lie in tests/lab/ too: the narrower groups are asked first
    return next((name for name in ("full", "kolla", "pacemaker", "netns", "lab")
                 if any(path.startswith(prefix) for prefix in GROUP_FILES[name])), None)


def pytest_xdist_make_scheduler(config, log):
    """Under ``-n N`` (README.rst, the test command): one work unit per group of
    GROUP_FILES, one per test elsewhere (xdist's own ``loadgroup`` marks were ignored with
    this pytest: every test of a group went wherever there was room)."""
    from xdist.scheduler import LoadScopeScheduling

    class LabGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return file_group(nodeid) or nodeid

    return LabGroupScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Each lab's tests on one worker, in order; a test that holds a group's lab from a file
    the scheduler does not know for that group is refused, before two labs of one name
    clash."""
    misplaced = [f"{item.nodeid} (holds '{group}')" for item in items
                 if (group := group_of(item)) and file_group(item.nodeid) != group]
    if misplaced:
        raise pytest.UsageError(
            "tests/conftest.py: add these tests' files to GROUP_FILES under the group they "
            "hold, so that xdist runs them on the worker of that lab: " + ", ".join(misplaced))
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's config has no numprocesses
        items.sort(key=lambda item: ORDER.index(g) if (g := file_group(item.nodeid))
                   else len(ORDER))
    reason = _why_no_lab()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lab():
    """A running lab shared by the session; torn down at the end whatever happened."""
    reason = _why_no_lab()
    if reason:
        pytest.skip(reason)
    with session_lab(LAB_NAME, LAB_CIDR) as the_lab:
        yield the_lab


@pytest.fixture(scope="session", autouse=True)
def every_run_is_rebuilt_from_its_history(tmp_path_factory):
    """At the session's end, each run the tests made (lab and local) is analysed again from
    its events.jsonl alone and must give the summary.json it wrote (docs/contracts.rst)."""
    yield
    root = tmp_path_factory.getbasetemp()
    wrong = {str(d.relative_to(root)): diff for d in finished_runs(root)
             if (diff := differences(d))}
    assert not wrong, "summary.json is not what its history gives: " + json.dumps(
        wrong, indent=1)[:4000]
