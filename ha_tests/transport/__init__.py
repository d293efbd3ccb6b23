"""How commands reach a node: over one persistent SSH connection, or locally."""

from ha_tests.transport.base import CommandResult, Shell, script
from ha_tests.transport.pool import ShellPool

__all__ = ["CommandResult", "Shell", "ShellPool", "script"]
