"""Precise process matching on a node: a regex over each full command line.

Yardstick greps `ps` output for a substring, which also matches the grep itself, editors and
unrelated processes. Here the node only lists /proc (data, one line per process) and the
pattern is matched on the runner with Python's re, so it means exactly what it says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ha_tests.transport import Shell, script

_LIST = r"""
self=$$
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$self" ] && continue
  c=$(tr '\000\n' '  ' < "$d/cmdline" 2>/dev/null) || continue
  [ -n "$c" ] || continue
  printf '%s\t%s\n' "$p" "$c"
done
"""


_MARKER = "ha-tests-ps"


@dataclass(frozen=True)
class Process:
    pid: int
    cmdline: str


def service_pattern(inventory, service: str | None, process: str | None, who: str) -> str:
    """The regex to match: an explicit ``process``, else the service's from the inventory."""
    from ha_tests.errors import PreflightError

    if process:
        return process
    entry = inventory.service(service) if service else None
    if entry is None or not entry.process:
        raise PreflightError(f"{who}: the inventory's services map has no process pattern "
                             f"for '{service}'")
    return entry.process


def list_processes(shell: Shell, timeout: float = 10.0) -> list[Process]:
    argv = script(_LIST)
    argv[3] = _MARKER  # $0 of the listing shell: lets us drop it and its parent from results
    result = shell.run(argv, timeout=timeout).check("listing processes")
    found = []
    for line in result.stdout.splitlines():
        pid, _, cmdline = line.partition("\t")
        if pid.isdigit() and _MARKER not in cmdline:
            found.append(Process(int(pid), cmdline.rstrip()))
    return found


def matching(processes: list[Process], pattern: str) -> list[Process]:
    regex = re.compile(pattern)
    return [p for p in processes if regex.search(p.cmdline)]


def find(shell: Shell, pattern: str, timeout: float = 10.0) -> list[Process]:
    return matching(list_processes(shell, timeout), pattern)
