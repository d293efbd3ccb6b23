"""Services of the ha-tests lab's own supervisor: a lab node's PID 1 is
``ha_tests.lab.nodeinit``, and ``<lab>/bin/hactl`` starts, stops and lists its services as
``systemctl`` does its units (docs/lab.rst). Found from PID 1's command line."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath

from ha_tests.discovery.catalog import CatalogEntry
from ha_tests.discovery.facts import NodeFacts
from ha_tests.discovery.ways.base import Finding, Way
from ha_tests.transport import Shell

_INIT = re.compile(r"-m ha_tests\.lab\.nodeinit --spec (\S+)")


def hactl_path(init_cmdline: str) -> str | None:
    """``<lab>/bin/hactl`` of the lab whose nodeinit is this PID 1, if it is one."""
    match = _INIT.search(init_cmdline)
    if not match:
        return None
    spec = PurePosixPath(match.group(1))  # <lab>/nodes/<node>/node.json
    return str(spec.parents[2] / "bin" / "hactl")


def parse_list(text: str) -> dict[str, bool]:
    """``hactl list``: ``name state [pid N]`` a line -> {name: running}."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2:
            found[words[0]] = words[1] == "running"
    return found


class HactlWay(Way):
    name = "hactl"
    rank = 40

    def gather(self, shell: Shell, facts: NodeFacts) -> None:
        path = hactl_path(facts.init)
        if path is None:
            return
        result = shell.run([path, "list"], timeout=15)
        if result.ok:
            facts.extra["hactl"] = {"path": path, "services": parse_list(result.stdout)}
        else:
            facts.errors.append(f"hactl list failed (exit {result.rc}): {result.stderr[:200]}")

    def find(self, service: str, entry: CatalogEntry, facts: NodeFacts) -> Finding | None:
        lab = facts.extra.get("hactl")
        if not lab:
            return None
        for name in entry.units:
            if name in lab["services"]:
                running = lab["services"][name]
                command = shlex.quote(lab["path"])
                return self.finding(
                    service, facts, running,
                    f"lab supervisor hactl service {name} "
                    f"({'running' if running else 'not running'})",
                    manager="command", start=f"{command} start {name}",
                    stop=f"{command} stop {name}", status=f"{command} status {name}")
        return None
