"""Name and range of the test session's lab (a module of its own: several conftest.py files
exist, so ``from conftest import`` would pick whichever was imported first)."""

import os

LAB_NAME = os.environ.get("HA_TESTS_TEST_LAB_NAME", "halabt")
LAB_CIDR = os.environ.get("HA_TESTS_TEST_LAB_CIDR", "10.198.0.0/16")

#: the kolla-style lab (tests/lab/test_kolla_lab.py): a lab of its own beside the session's
KOLLA_LAB_NAME = os.environ.get("HA_TESTS_TEST_KOLLA_LAB_NAME", "halabk")
KOLLA_LAB_CIDR = os.environ.get("HA_TESTS_TEST_KOLLA_LAB_CIDR", "10.196.0.0/16")

#: the Pacemaker-style lab (tests/lab/test_pacemaker_lab.py): a lab of its own too
PACEMAKER_LAB_NAME = os.environ.get("HA_TESTS_TEST_PACEMAKER_LAB_NAME", "halabp")
PACEMAKER_LAB_CIDR = os.environ.get("HA_TESTS_TEST_PACEMAKER_LAB_CIDR", "10.195.0.0/16")
