"""Name and range of the test session's lab (a module of its own: several conftest.py files
exist, so ``from conftest import`` would pick whichever was imported first)."""

import os

LAB_NAME = os.environ.get("HA_TESTS_TEST_LAB_NAME", "halabt")
LAB_CIDR = os.environ.get("HA_TESTS_TEST_LAB_CIDR", "10.198.0.0/16")
