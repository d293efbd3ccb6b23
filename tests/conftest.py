"""The session's lab: brought up once for every test marked ``lab``, always taken down.

Name and range come from ``HA_TESTS_TEST_LAB_NAME`` / ``HA_TESTS_TEST_LAB_CIDR`` (defaults
``halabt`` / ``10.198.0.0/16``, apart from a demo lab's ``halab`` / ``10.199.0.0/16``).
"""

from __future__ import annotations

import fcntl
import os

import pytest
from lab_settings import LAB_CIDR, LAB_NAME


def _why_no_lab() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, bridges); run the lab tests as root"
    try:
        import gunicorn  # noqa: F401
        import keystone  # noqa: F401
    except ImportError as error:
        return f"the lab needs the 'lab' extra (pip install -e .[lab]): {error}"
    return None


def pytest_collection_modifyitems(config, items):
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
    from ha_tests.lab import Lab
    from ha_tests.lab.plan import lab_base_dir

    # One test session per lab: another session's faults would break this one's checks,
    # and its teardown would take the lab away under this one.
    lab_base_dir().mkdir(parents=True, exist_ok=True)
    lock = open(lab_base_dir() / f".{LAB_NAME}.tests.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        pytest.fail(f"lab {LAB_NAME} is in use by another test session; give this one its "
                    "own with HA_TESTS_TEST_LAB_NAME and HA_TESTS_TEST_LAB_CIDR")
    the_lab = Lab(name=LAB_NAME, cidr=LAB_CIDR)
    try:
        if the_lab.dir.exists():
            # We hold the lock, so no test session owns it: a killed session left it, and
            # its faults or dead daemons would fail this session's tests one by one.
            print(f"lab up: lab {LAB_NAME} was left by an earlier session; taking it down",
                  flush=True)
            the_lab.down()
        the_lab.up(progress=lambda text: print(f"lab up: {text}", flush=True))
        yield the_lab
    finally:
        try:
            the_lab.down()
        finally:
            os.unlink(lock.name)  # still holding it: nobody can take it in between
            lock.close()
