"""Tempest plugin: ha-tests' scenarios as Tempest tests (``tempest run --regex ha_tests``)."""
