"""What a node says about itself, asked once through read-only commands.

Every command here only lists or reads: ``/proc``, ``systemctl list-units``, ``docker|podman
ps``, ``crm_mon``/``cibadmin --query``, ``ip addr`` and ``cat`` of configuration files. The
ways (``ha_tests.discovery.ways``) and the VIP finders work on these facts alone, so the same
parsers serve a node and a recorded answer of one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ha_tests.processes import Process, list_processes
from ha_tests.transport import Shell, script

#: one shell run, sections between markers; a missing program leaves its section empty
_ASK = r"""
section() { printf '\n@@ha-tests-discovery %s\n' "$1"; }
section systemd
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl list-units --type=service --all --no-legend --plain --no-pager 2>/dev/null
  systemctl list-unit-files --type=service --no-legend --no-pager 2>/dev/null | sed 's/^/file /'
fi
for engine in docker podman; do
  section "$engine"
  if command -v "$engine" >/dev/null 2>&1; then
    "$engine" ps -a --format '{{json .}}' 2>/dev/null
  fi
done
section crm_mon
if command -v crm_mon >/dev/null 2>&1; then
  crm_mon --one-shot --output-as=xml 2>/dev/null || crm_mon -1 -X 2>/dev/null
fi
section cib
if command -v cibadmin >/dev/null 2>&1; then cibadmin --query 2>/dev/null; fi
section addresses
ip -o addr show 2>/dev/null
section init
tr '\000' ' ' < /proc/1/cmdline 2>/dev/null
section hostname
hostname 2>/dev/null || cat /proc/sys/kernel/hostname
"""
_MARK = re.compile(r"^@@ha-tests-discovery (\S+)$", re.M)

#: configuration files read when no running process names its own
DEFAULT_CONFIGS = {
    "keepalived": ["/etc/keepalived/keepalived.conf", "/etc/kolla/keepalived/keepalived.conf"],
    "haproxy": ["/etc/haproxy/haproxy.cfg", "/etc/kolla/haproxy/haproxy.cfg"],
}
_CONFIG_FLAG = {"keepalived": re.compile(r"(?:^| )(?:-f|--use-file)[ =](\S+)"),
                "haproxy": re.compile(r"(?:^| )-f[ =]?(\S+)")}
_PROGRAM = {"keepalived": re.compile(r"(^|/)keepalived( |$)"),
            "haproxy": re.compile(r"(^|/)haproxy( |$)")}


@dataclass
class Unit:
    name: str  # without .service
    active: str  # active, inactive, failed; "installed" for a unit file not loaded


@dataclass
class Container:
    engine: str  # docker | podman
    name: str
    running: bool


@dataclass
class NodeFacts:
    node: str
    processes: list[Process] = field(default_factory=list)
    units: dict[str, Unit] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)
    crm_mon: str = ""
    cib: str = ""
    addresses: dict[str, str] = field(default_factory=dict)  # address -> interface
    init: str = ""
    hostname: str = ""
    configs: dict[str, dict[str, str]] = field(default_factory=dict)  # program -> path -> text
    errors: list[str] = field(default_factory=list)
    #: what a way gathered beyond these (its ``gather``), by way name
    extra: dict[str, dict] = field(default_factory=dict)

    def running(self, pattern: str) -> list[Process]:
        regex = re.compile(pattern)
        return [p for p in self.processes if regex.search(p.cmdline)]


def parse_sections(text: str) -> dict[str, str]:
    parts = _MARK.split(text)
    return {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}


def parse_units(text: str) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["file"] and len(words) >= 2 and words[1].endswith(".service"):
            name = words[1].removesuffix(".service")
            units.setdefault(name, Unit(name, "installed"))
        elif len(words) >= 4 and words[0].endswith(".service") and words[1] == "loaded":
            name = words[0].removesuffix(".service")
            units[name] = Unit(name, words[2])
    return units


def parse_containers(engine: str, text: str) -> list[Container]:
    """``docker|podman ps -a --format '{{json .}}'``: docker prints one object a line, podman
    (4.x) one object a line or a JSON array, with ``Names`` a string or a list."""
    found = []
    text = text.strip()
    if not text:
        return found
    try:
        items = json.loads(text) if text.startswith("[") else \
            [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    except json.JSONDecodeError:
        return found
    for item in items:
        names = item.get("Names") or item.get("Name") or []
        if isinstance(names, str):
            names = names.split(",")
        state = str(item.get("State") or item.get("Status") or "").lower()
        for name in names:
            found.append(Container(engine, name.lstrip("/"), state.startswith(("running", "up"))))
    return found


def parse_addresses(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        words = line.split()
        for family in ("inet", "inet6"):
            if family in words and words.index(family) + 1 < len(words) and len(words) > 1:
                found[words[words.index(family) + 1].split("/")[0]] = words[1].rstrip(":")
    return found


def config_paths(program: str, processes: list[Process]) -> list[str]:
    """The files a running program was started with, else where installers put them."""
    paths = []
    for process in processes:
        if _PROGRAM[program].search(process.cmdline):
            match = _CONFIG_FLAG[program].search(process.cmdline)
            if match and match.group(1) not in paths:
                paths.append(match.group(1))
    return paths or list(DEFAULT_CONFIGS[program])


_CAT = r"""
for f in "$@"; do
  [ -r "$f" ] || continue
  printf '\n@@ha-tests-discovery %s\n' "$f"; cat "$f"
done
"""


#: how long one node may take to answer each of discovery's read-only commands
DEFAULT_TIMEOUT = 30.0


def gather(shell: Shell, timeout: float = DEFAULT_TIMEOUT) -> NodeFacts:
    """Ask one node; raises TransportError if it cannot be reached."""
    facts = NodeFacts(shell.node_name)
    facts.processes = list_processes(shell, timeout)
    result = shell.run(script(_ASK), timeout=timeout)
    sections = parse_sections(result.stdout)
    facts.units = parse_units(sections.get("systemd", ""))
    for engine in ("docker", "podman"):
        facts.containers += parse_containers(engine, sections.get(engine, ""))
    facts.crm_mon = sections.get("crm_mon", "")
    facts.cib = sections.get("cib", "")
    facts.addresses = parse_addresses(sections.get("addresses", ""))
    facts.init = sections.get("init", "").strip()
    facts.hostname = sections.get("hostname", "").strip()
    for program in ("keepalived", "haproxy"):
        paths = config_paths(program, facts.processes)
        answer = shell.run(script(_CAT, *paths), timeout=timeout)
        facts.configs[program] = parse_sections(answer.stdout)
    return facts
