"""The full profile's lab (Nova, Placement, Cinder, MariaDB, RabbitMQ) for the tests in this
directory only: brought up once, taken down as soon as they are done (package scope; its
40-odd OpenStack processes would otherwise load the host under the other tests). Its name and
range are its own (``HA_TESTS_TEST_FULL_LAB_NAME`` / ``HA_TESTS_TEST_FULL_LAB_CIDR``, defaults
``halabf`` / ``10.197.0.0/16``), so it can stand beside the identity lab of the other tests.
"""

from __future__ import annotations

import fcntl
import os

import pytest

FULL_LAB_NAME = os.environ.get("HA_TESTS_TEST_FULL_LAB_NAME", "halabf")
FULL_LAB_CIDR = os.environ.get("HA_TESTS_TEST_FULL_LAB_CIDR", "10.197.0.0/16")


@pytest.fixture(scope="package")
def full_lab():
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, bridges)")
    try:
        import nova  # noqa: F401
        import placement  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the full profile needs Nova and Placement (pip install -e .[lab]): "
                    f"{error}")
    from ha_tests.lab import Lab
    from ha_tests.lab.plan import lab_base_dir

    lab_base_dir().mkdir(parents=True, exist_ok=True)
    lock = open(lab_base_dir() / f".{FULL_LAB_NAME}.tests.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        pytest.fail(f"lab {FULL_LAB_NAME} is in use by another test session")
    the_lab = Lab(name=FULL_LAB_NAME, cidr=FULL_LAB_CIDR, profile="full")
    try:
        if the_lab.dir.exists():
            print(f"full lab: {FULL_LAB_NAME} was left by an earlier session; taking it down",
                  flush=True)
            the_lab.down()
        the_lab.up(progress=lambda text: print(f"full lab up: {text}", flush=True))
        yield the_lab
    finally:
        try:
            the_lab.down()
        finally:
            os.unlink(lock.name)
            lock.close()
