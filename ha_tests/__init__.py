"""ha-tests: HA fault-injection tests for OpenStack clouds."""

__version__ = "0.1.0"
