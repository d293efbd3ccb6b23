"""The full profile's lab (Nova, Placement, Cinder, MariaDB, RabbitMQ) for the tests in this
directory only: brought up once, taken down as soon as they are done (package scope; its
40-odd OpenStack processes would otherwise load the host under the other tests). Its name and
range are its own (``HA_TESTS_TEST_FULL_LAB_NAME`` / ``HA_TESTS_TEST_FULL_LAB_CIDR``, defaults
``halabf`` / ``10.197.0.0/16``), so it can stand beside the identity lab of the other tests.
"""

from __future__ import annotations

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
    from lab_session import session_lab

    with session_lab(FULL_LAB_NAME, FULL_LAB_CIDR, "full", "full lab up") as the_lab:
        yield the_lab
