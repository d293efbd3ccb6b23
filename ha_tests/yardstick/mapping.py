"""One Yardstick ServiceHA or GeneralHA scenario, mapped field by field onto a native scenario.

Every field Yardstick reads is honoured or refused with an error that names the test case and
the field; every field it ignores is warned about. The result is plain native scenario data
(what ``ha-tests yardstick convert`` writes), plus what the native format cannot say yet:
each monitor's Yardstick tag (for Yardstick's output record), the OpenStack service each
``openstack-cmd`` monitor needs (so a cloud without it reports the monitor not applicable),
and the services the attackers restart (Yardstick's start_service.bash, as inventory entries).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import Any

from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory
from ha_tests.scenario import CONDITIONS
from ha_tests.yamlsource import SourceMap, did_you_mean, format_path
from ha_tests.yardstick import catalogue

SCENARIO_TYPES = ("ServiceHA", "GeneralHA")
#: keys of a scenario entry Yardstick's task runner reads or sets itself
SCENARIO_KEYS = {"type", "options", "nodes", "runner", "sla"}
OPTION_KEYS = {
    "ServiceHA": {"attackers", "monitors"},
    "GeneralHA": {"attackers", "monitors", "operations", "resultCheckers", "steps"},
}
ATTACKER_KEYS = {
    "kill-process": {"fault_type", "process_name", "host", "key"},
    "bare-metal-down": {"fault_type", "host", "jump_host", "key"},
    "general-attacker": {"fault_type", "host", "key", "attack_key", "action_parameter",
                         "rollback_parameter", "return_parameter"},
}
MONITOR_KEYS = {
    "openstack-cmd": {"monitor_type", "command_name", "host", "monitor_time", "monitor_number",
                      "sla", "key"},
    "process": {"monitor_type", "process_name", "host", "monitor_time", "monitor_number",
                "sla", "key"},
    "general-monitor": {"monitor_type", "monitor_key", "key", "host", "parameter",
                        "monitor_time", "monitor_number", "sla"},
}
STEP_TYPES = ("attacker", "monitor", "operation", "resultchecker")
#: seconds between samples of one Yardstick monitor copy; monitor_number copies divide it,
#: down to the floor
BASE_INTERVAL = {"openstack-cmd": 12.0, "command": 1.5, "process": 1.5, "api": 3.0}
MIN_INTERVAL = {"openstack-cmd": 3.0, "command": 0.5, "process": 0.5, "api": 0.5}
#: Yardstick's N monitor copies are N synchronous clients: never more than N requests in
#: flight. ha-tests starts probes on schedule even while earlier ones run, so the probe
#: timeout is N intervals: a slowing service is never buried under the monitor's own
#: requests (a monitor must not become the outage it measures). Capped here.
MAX_TIMEOUT = {"openstack-cmd": 20.0, "command": 5.0, "process": 5.0, "api": 5.0}
BASELINE_SECONDS = 3.0


@dataclass
class MappedCase:
    """A Yardstick scenario as native scenario data, plus what the native format lacks."""

    name: str
    test_case: str
    index: int
    scenario_type: str
    native: dict[str, Any]
    #: native monitor name -> Yardstick's tag (output keys are "<tag>_outage_time", ...)
    tags: dict[str, str] = field(default_factory=dict)
    #: native monitor name -> catalog service type the monitor needs (identity, image, ...)
    needs: dict[str, str] = field(default_factory=dict)
    #: native attacker name -> catalog service its process belongs to (nova-api: compute)
    attack_needs: dict[str, str] = field(default_factory=dict)
    #: native monitor name -> True when Yardstick ran several copies (multi-monitor)
    multi: dict[str, bool] = field(default_factory=dict)
    #: inventory services the attackers restart or stop: start_service.bash, as entries
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Yardstick's scenario-level sla.action ("assert", "monitor" or None)
    sla_action: str | None = None
    #: Yardstick command -> the ha-tests request that measures it (when not the CLI itself)
    instruments: dict[str, str] = field(default_factory=dict)
    #: ("attackers"|"monitors", native name) -> path of the Yardstick entry it came from
    origins: dict[tuple[str, str], tuple] = field(default_factory=dict)


class _Mapper:
    def __init__(self, raw: dict, index: int, test_case: str, source: SourceMap,
                 node_names: dict[str, str], inventory: Inventory | None,
                 warnings: list[str], multiple: bool, literal_commands: bool = False):
        self.literal_commands = literal_commands
        self.raw = raw
        self.index = index
        self.test_case = test_case
        self.source = source
        self.node_names = node_names
        self.inventory = inventory
        self.warnings = warnings
        self.base = ("scenarios", index)
        self.name = f"{test_case}.{index + 1}" if multiple else test_case

    # -- reporting --------------------------------------------------------------------------
    def fail(self, path: tuple, message: str, hint: str | None = None) -> InputError:
        full = self.base + tuple(path)
        return InputError(self.source.problem(
            full, f"test case {self.test_case}: {message}", hint))

    def warn(self, path: tuple, message: str) -> None:
        self.warnings.append(f"{self.test_case}: {format_path(self.base + tuple(path))}: "
                             f"{message}")

    def warn_unread(self, entry: dict, known: set[str], path: tuple, what: str) -> None:
        for key in entry:
            if key not in known:
                self.warn(path + (key,), f"not read by Yardstick for {what}; ignored")

    # -- helpers ------------------------------------------------------------------------------
    def host(self, entry: dict, path: tuple, *, required: bool) -> str | None:
        alias = entry.get("host")
        if alias is None:
            if required:
                raise self.fail(path + ("host",), "missing 'host' (the node alias to act on)",
                                "add 'host: node1' naming a key of the scenario's 'nodes:'")
            return None
        alias = str(alias)
        if alias not in self.node_names:
            raise self.fail(path + ("host",), f"host '{alias}' is not in the scenario's "
                            "'nodes:'", did_you_mean(alias, self.node_names) or
                            "nodes: " + (", ".join(self.node_names) or "none declared"))
        return alias

    def positional(self, entry: dict, key: str, path: tuple,
                   variables: bool = False) -> list[str]:
        """A *_parameter mapping, as the positional arguments Yardstick passes its script.

        With ``variables``, an ``@name`` value stays (an operation set it earlier).
        """
        params = entry.get(key)
        if params is None:
            return []
        if not isinstance(params, dict):
            raise self.fail(path + (key,), f"'{key}' must be a mapping of name: value")
        values = []
        for name, value in params.items():
            text = str(value)
            if text.startswith("@") and not variables:
                raise self.fail(path + (key, name), f"'{text}' is an intermediate variable "
                                "set by an operation's or attacker's return_parameter at run "
                                "time; ha-tests cannot pass such values between steps yet",
                                "write the value itself, or run this case in Yardstick")
            values.append(text)
        return values

    def number(self, entry: dict, key: str, path: tuple, default: float,
               integer: bool = False) -> float:
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (
                integer and (not isinstance(value, int) or value < 1)):
            kind = "a whole number >= 1" if integer else "a number of seconds >= 0"
            raise self.fail(path + (key,), f"'{key}' must be {kind}, got {value!r}")
        return value

    # -- the scenario -------------------------------------------------------------------------
    def map(self) -> MappedCase:
        raw = self.raw
        kind = raw.get("type")
        if kind not in SCENARIO_TYPES:
            raise self.fail(("type",), f"scenario type {kind!r} is not an HA scenario",
                            "ha-tests runs Yardstick's ServiceHA and GeneralHA scenarios")
        self.kind = kind
        for key in raw:
            if key not in SCENARIO_KEYS:
                if key in ("run_in_background",) and raw[key]:
                    raise self.fail((key,), "background scenarios run for the whole task "
                                    "beside the others; ha-tests runs one scenario at a time")
                self.warn((key,), f"not read by Yardstick's {kind} scenario; ignored")
        options = raw.get("options")
        if not isinstance(options, dict):
            raise self.fail(("options",), "missing 'options:' (attackers, monitors, ...)")
        for key in options:
            if key not in OPTION_KEYS[kind]:
                self.warn(("options", key), f"not read by Yardstick's {kind}; ignored")
        self.options = options
        case = MappedCase(self.name, self.test_case, self.index, kind, {})
        self.case = case

        attackers = self.attackers()
        monitors = self.monitors()
        operations = self.operations()
        if kind == "GeneralHA":
            attackers, monitors, operations = self.ordered_by_steps(attackers, monitors,
                                                                    operations)
        elif operations:
            raise self.fail(("options", "operations"), "ServiceHA runs no operations or "
                            "result checkers (only GeneralHA's steps do)",
                            "make it a GeneralHA scenario with steps:")
        if not monitors:
            raise self.fail(("options", "monitors"), "no monitor is run, so nothing would be "
                            "measured", "add a monitor (and, for GeneralHA, a monitor step)")
        for item in attackers + monitors + operations:
            item.pop("_key", None)
        for section, items in (("attackers", attackers), ("monitors", monitors),
                               ("operations", operations)):
            for item in items:
                case.origins[(section, item["name"])] = item.pop("_origin")
        for attacker in attackers:
            need = attacker.pop("_need", None)
            if need:
                case.attack_needs[attacker["name"]] = need
        kept = {m["name"] for m in monitors}
        for table in (case.tags, case.needs, case.multi):
            for name in [n for n in table if n not in kept]:
                del table[name]
        repeat = self.runner()
        self.scenario_sla()

        monitor_times = [m.pop("_monitor_time") for m in monitors]
        sustained = any(a.pop("_sustained") for a in attackers)
        for attacker in attackers:
            if attacker["type"] == "kill-process":
                # Yardstick gives the node's own supervisor the whole monitor_time before its
                # teardown restarts anything; ha-tests waits as long before restarting
                waits = [t for m, t in zip(monitors, monitor_times, strict=True)
                         if m["type"] == "process" and m.get("target") == attacker["target"]]
                attacker["comes_back_within"] = min(float(max(waits, default=10.0)), 600.0)
        longest = float(max(monitor_times, default=0.0))
        timing: dict[str, Any] = {"baseline": BASELINE_SECONDS,
                                  "fault_duration": longest if sustained else 0.0,
                                  "observe": longest}
        if any(a["type"] == "power-off" for a in attackers):
            timing["recovery_timeout"] = 600.0
        description = str(self.raw_description or "").strip()
        targets = {alias: {"nodes": [self.node_names[alias]]}
                   for alias in dict.fromkeys([a["target"] for a in attackers] +
                                              [m["target"] for m in monitors + operations
                                               if m.get("target")])}
        case.native = {
            "name": self.name,
            "description": description or f"Yardstick {self.test_case}",
            "gap": "classic",
            "tags": ["yardstick", kind, self.test_case],
            "targets": targets,
            "attackers": attackers,
            "monitors": monitors,
            **({"operations": operations} if operations else {}),
            "timing": timing,
            "repeat": repeat,
        }
        return case

    raw_description: str | None = None

    # -- attackers ----------------------------------------------------------------------------
    def attackers(self) -> list[dict[str, Any]]:
        entries = self.options.get("attackers")
        if entries is None:
            if self.kind == "ServiceHA":
                raise self.fail(("options", "attackers"), "ServiceHA needs 'attackers:'")
            return []
        if not isinstance(entries, list):
            raise self.fail(("options", "attackers"), "'attackers' must be a list")
        mapped = []
        keys: set[str] = set()
        for i, entry in enumerate(entries):
            path = ("options", "attackers", i)
            if not isinstance(entry, dict):
                raise self.fail(path, "an attacker is a mapping")
            attacker = self.attacker(entry, path)
            if self.kind == "GeneralHA":
                if "key" not in entry:
                    raise self.fail(path + ("key",), "a GeneralHA attacker needs 'key' (its "
                                    "steps name it)", "add 'key: kill-process'")
                attacker["name"] = str(entry["key"])
            if attacker["name"] in keys:
                attacker["name"] = f"{attacker['name']}-{i + 1}"
            keys.add(attacker["name"])
            attacker["_key"] = str(entry.get("key", attacker["name"]))
            attacker["_origin"] = self.base + path
            mapped.append(attacker)
        return mapped

    def attacker(self, entry: dict, path: tuple) -> dict[str, Any]:
        fault_type = entry.get("fault_type")
        if fault_type not in ATTACKER_KEYS:
            known = list(ATTACKER_KEYS)
            hint = did_you_mean(str(fault_type), known)
            if fault_type in catalogue.ATTACKS:
                hint = (f"Yardstick has no attacker class for '{fault_type}'; use fault_type: "
                        f"general-attacker with attack_key: {fault_type}")
            raise self.fail(path + ("fault_type",), f"unknown fault_type {fault_type!r}",
                            hint or "known: " + ", ".join(known))
        self.warn_unread(entry, ATTACKER_KEYS[fault_type], path, f"a {fault_type} attacker")
        alias = self.host(entry, path, required=True)
        if fault_type == "general-attacker":
            attack_key = entry.get("attack_key")
            if attack_key not in catalogue.ATTACKS:
                raise self.fail(path + ("attack_key",), f"unknown attack_key {attack_key!r}",
                                did_you_mean(str(attack_key), catalogue.ATTACKS) or
                                "known: " + ", ".join(catalogue.ATTACKS))
            if "return_parameter" in entry:
                raise self.fail(path + ("return_parameter",), "return values of an attack "
                                "script feed later steps at run time; ha-tests cannot pass "
                                "such values between steps yet")
            action = self.positional(entry, "action_parameter", path)
            rollback = self.positional(entry, "rollback_parameter", path)
            return self.attack(attack_key, alias, action, rollback, entry, path,
                               ("attack_key",))
        if fault_type == "kill-process":
            if not entry.get("process_name"):
                raise self.fail(path + ("process_name",), "kill-process needs 'process_name'")
            name = str(entry["process_name"])
            return self.attack("kill-process", alias, [name], [name], entry, path,
                               ("fault_type",))
        return self.attack("bare-metal-down", alias, [], [], entry, path, ("fault_type",))

    def attack(self, key: str, alias: str, action: list[str], rollback: list[str],
               entry: dict, path: tuple, key_path: tuple) -> dict[str, Any]:
        kind = catalogue.ATTACKS[key]
        missing = catalogue.missing_scripts(kind.scripts)
        if missing:
            raise self.fail(path + key_path, f"'{key}' runs {', '.join(missing)}, which "
                            "Yardstick never shipped")
        if kind.plugin is None:
            raise self.fail(path + key_path, f"'{key}' cannot run in ha-tests: "
                            f"{kind.refused}")
        if kind.caveat:
            self.warn(path + key_path, kind.caveat)
        attacker: dict[str, Any] = {"type": kind.plugin, "name": key, "target": alias,
                                    "_sustained": kind.sustained}
        if kind.plugin == "kill-process":
            if not action:
                raise self.fail(path + ("action_parameter",), f"'{key}' needs the process "
                                "name as its action_parameter", "action_parameter: "
                                "{process_name: keystone}")
            process = action[0]
            service = rollback[0] if rollback and key == "kill-process" else process
            attacker.update({"name": entry.get("key") or f"kill-{process}",
                             "service": service, "process": catalogue.kill_pattern(process),
                             "signal": "KILL"})
            attacker["_need"] = catalogue.process_service(process)
            self.add_service(service, catalogue.kill_pattern(process))
        elif kind.plugin == "power-off":
            if "jump_host" in entry:
                jump = self.host({"host": entry["jump_host"]}, path, required=True)
                self.warn(path + ("jump_host",), f"Yardstick runs ipmitool on {jump}; "
                          "ha-tests talks to the BMC directly from this machine, which must "
                          "reach it")
            node = self.node(alias)
            if node is not None and node.bmc is None:
                raise self.fail(path + ("host",), f"bare-metal-down powers {alias} off over "
                                f"IPMI, but pod node {node.name} has no ipmi_ip",
                                "add ipmi_ip, ipmi_user and ipmi_password to the node in "
                                "pod.yaml")
            if action:
                self.warn(path + ("action_parameter",), "the BMC address and credentials "
                          "come from pod.yaml; the script arguments are not used")
        elif kind.plugin == "stop-service":
            if not action:
                raise self.fail(path + ("action_parameter",), "stop-service needs the "
                                "service name as its action_parameter",
                                "action_parameter: {service: nova-api}")
            attacker["service"] = action[0]
            attacker["_need"] = catalogue.process_service(action[0])
            self.add_service(action[0], None)
        elif kind.plugin == "io-stall":
            # block_io.bash: one dd of 240 GB into /test.dbf, which can fill the root disk
            attacker["dir"] = "/"
            self.warn(path + key_path, "Yardstick writes one unbounded file (/test.dbf, up "
                      "to 240 GB) until the disk may fill; ha-tests runs bounded writers "
                      "with fsync in / and keeps 10% of the disk free")
        elif kind.plugin == "block-nic":
            if not action:
                raise self.fail(path + ("action_parameter",), "close-interface needs the "
                                "interface name as its action_parameter",
                                "action_parameter: {interface: br-mgmt}")
            if rollback and rollback[0] != action[0]:
                self.warn(path + ("rollback_parameter",), f"Yardstick would bring up "
                          f"{rollback[0]} instead of {action[0]}; ha-tests restores the "
                          f"interface it took down")
            attacker["interface"] = action[0]
        return attacker

    def node(self, alias: str):
        if self.inventory is None:
            return None
        name = self.node_names[alias]
        return next((n for n in self.inventory.nodes if n.name == name), None)

    def add_service(self, name: str, process: str | None) -> None:
        service: dict[str, Any] = {"manager": "command",
                                   "start": catalogue.start_command(name, "start"),
                                   "stop": catalogue.start_command(name, "stop"),
                                   "status": catalogue.start_command(name, "status")}
        if process:
            service["process"] = process
        self.case.services.setdefault(name, service)

    # -- monitors -----------------------------------------------------------------------------
    def monitors(self) -> list[dict[str, Any]]:
        entries = self.options.get("monitors")
        if entries is None:
            if self.kind == "ServiceHA":
                raise self.fail(("options", "monitors"), "ServiceHA needs 'monitors:'")
            return []
        if not isinstance(entries, list):
            raise self.fail(("options", "monitors"), "'monitors' must be a list")
        mapped = []
        names: set[str] = set()
        for i, entry in enumerate(entries):
            path = ("options", "monitors", i)
            if not isinstance(entry, dict):
                raise self.fail(path, "a monitor is a mapping")
            monitor, tag = self.monitor(entry, path)
            name = tag
            if name in names:
                name = f"{tag}-{i + 1}"
                self.warn(path, f"a second monitor tagged '{tag}': Yardstick writes both "
                          f"to the same '{tag}_*' output keys; ha-tests names it '{name}'")
            names.add(name)
            monitor["name"] = name
            monitor["_key"] = str(entry["key"]) if "key" in entry else None
            monitor["_origin"] = self.base + path
            self.case.tags[name] = tag
            self.case.multi[name] = monitor.pop("_multi")
            if "_need" in monitor:
                self.case.needs[name] = monitor.pop("_need")
            mapped.append(monitor)
        return mapped

    def monitor(self, entry: dict, path: tuple) -> tuple[dict[str, Any], str]:
        monitor_type = entry.get("monitor_type")
        if monitor_type not in MONITOR_KEYS:
            known = list(MONITOR_KEYS)
            raise self.fail(path + ("monitor_type",), f"unknown monitor_type "
                            f"{monitor_type!r}", did_you_mean(str(monitor_type), known) or
                            "known: " + ", ".join(known))
        self.warn_unread(entry, MONITOR_KEYS[monitor_type], path,
                         f"a {monitor_type} monitor")
        copies = int(self.number(entry, "monitor_number", path, 1, integer=True))
        monitor_time = float(self.number(entry, "monitor_time", path, 0))
        if monitor_type == "openstack-cmd":
            monitor, tag = self.command_monitor(entry, path)
        elif monitor_type == "process":
            if not entry.get("process_name"):
                raise self.fail(path + ("process_name",), "a process monitor needs "
                                "'process_name'")
            process = str(entry["process_name"])
            alias = self.host(entry, path, required=True)
            monitor = {"type": "process", "target": alias,
                       "process": catalogue.count_pattern(process)}
            if catalogue.process_service(process):
                monitor["_need"] = catalogue.process_service(process)
            tag = f"process_{process}"
        else:
            monitor, tag = self.general_monitor(entry, path)
        if "key" in entry:
            tag = str(entry["key"])
        kind = monitor["type"] if monitor["type"] in ("api", "process") else (
            "openstack-cmd" if monitor_type == "openstack-cmd" else monitor["type"])
        # N copies of a Yardstick monitor sample N times as often; ha-tests' loop overlaps
        # probes itself, so one monitor at 1/N of the interval is the same measurement
        interval = round(max(BASE_INTERVAL[kind] / copies, MIN_INTERVAL[kind]), 3)
        monitor["interval"] = interval
        monitor.setdefault("timeout", round(min(interval * copies, MAX_TIMEOUT[kind]), 3))
        monitor["_monitor_time"] = monitor_time
        monitor["_multi"] = copies > 1
        self.monitor_sla(monitor, entry, path, monitor_type, copies > 1)
        return monitor, tag

    def command_monitor(self, entry: dict, path: tuple) -> tuple[dict[str, Any], str]:
        command = entry.get("command_name")
        if not command or not isinstance(command, str):
            raise self.fail(path + ("command_name",), "an openstack-cmd monitor needs "
                            "'command_name'", "command_name: openstack user list")
        if "host" in entry:
            self.host(entry, path, required=True)
            self.warn(path + ("host",), "Yardstick connects to this host but runs the "
                      "command on its own machine; ha-tests runs it on this machine too")
        run = command
        if os.environ.get("OS_INSECURE", "").lower() == "true":
            run += " --insecure"  # as Yardstick's openstack-cmd monitor does
        try:
            argv = shlex.split(run)
        except ValueError as exc:
            raise self.fail(path + ("command_name",), f"cannot split {command!r} into "
                            f"words: {exc}") from None
        call = None if self.literal_commands else catalogue.api_call(command)
        if call is not None:
            monitor = {"type": "api", "service": call[0], "call": call[1]}
            self.case.instruments[command] = f"api {call[0]} {call[1]}"
        elif argv[0] == "openstack":
            monitor = {"type": "openstack-cmd", "command": run}
        else:
            self.warn(path + ("command_name",), f"'{argv[0]}' is a legacy per-service client "
                      "(removed from current OpenStack releases); ha-tests runs it as written")
            monitor = {"type": "command", "command": argv}
        need = catalogue.service_needed(command)
        if need:
            monitor["_need"] = need
        return monitor, command.replace(" ", "-")

    def general_monitor(self, entry: dict, path: tuple) -> tuple[dict[str, Any], str]:
        if "key" not in entry:
            raise self.fail(path + ("key",), "a general-monitor needs 'key'")
        monitor_key = entry.get("monitor_key")
        kind = catalogue.GENERAL_MONITORS.get(monitor_key)
        if kind is None:
            raise self.fail(path + ("monitor_key",), f"unknown monitor_key {monitor_key!r}",
                            did_you_mean(str(monitor_key), catalogue.GENERAL_MONITORS) or
                            "known: " + ", ".join(catalogue.GENERAL_MONITORS))
        missing = catalogue.missing_scripts(kind.script)
        if missing:
            raise self.fail(path + ("monitor_key",), f"'{monitor_key}' runs "
                            f"{', '.join(missing)}, which Yardstick never shipped",
                            "use monitor_type: openstack-cmd with command_name: "
                            "openstack image list")
        if kind.plugin is None:
            raise self.fail(path + ("monitor_key",), f"'{monitor_key}' cannot run in "
                            f"ha-tests: {kind.refused}")
        params = self.positional(entry, "parameter", path)
        alias = self.host(entry, path, required=False)
        if not params:
            raise self.fail(path + ("parameter",), f"'{monitor_key}' needs its argument in "
                            "'parameter:'")
        if monitor_key == "process-status":
            if alias is None:
                raise self.fail(path + ("host",), "process-status needs 'host'")
            monitor: dict[str, Any] = {"type": "process", "target": alias,
                                       "process": catalogue.count_pattern(params[0])}
        elif monitor_key == "service-status":
            monitor = {"type": "command", "command": ["service", params[0], "status"]}
        else:  # ip-status: ping.bash "ping $1 -c 1"
            monitor = {"type": "command", "command": ["ping", params[0], "-c", "1"],
                       "timeout": 2.0}
        if alias is not None and monitor["type"] == "command":
            monitor["target"] = alias
        return monitor, str(entry["key"])

    def monitor_sla(self, monitor: dict, entry: dict, path: tuple, monitor_type: str,
                    multi: bool) -> None:
        """Yardstick's per-monitor limits, each judged on ha-tests' worst-case bound."""
        sla = entry.get("sla")
        if sla is not None and not isinstance(sla, dict):
            raise self.fail(path + ("sla",), "'sla' must be a mapping")
        sla = sla or {}
        outage = sla.get("max_outage_time")
        recover = sla.get("max_recover_time")
        for key, value in (("max_outage_time", outage), ("max_recover_time", recover)):
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, int | float) or value < 0):
                raise self.fail(path + ("sla", key), f"'{key}' must be seconds >= 0, "
                                f"got {value!r}")
        for key in sla:
            if key not in ("max_outage_time", "max_recover_time"):
                self.warn(path + ("sla", key), "not read by Yardstick; ignored")
        is_process = monitor["type"] == "process"
        limits: dict[str, float] = {}
        if multi:
            # multi-monitor: max_outage_time, else max_recover_time, over the outage span
            if outage is not None:
                limits["max_outage"] = float(outage)
                if recover is not None:
                    self.warn(path + ("sla", "max_recover_time"), "Yardstick uses "
                              "max_outage_time when both are given; ignored")
            elif recover is not None:
                limits["max_recovery" if is_process else "max_outage"] = float(recover)
        elif monitor_type == "process":
            if recover is not None:
                limits["max_recovery"] = float(recover)
            if outage is not None:
                self.warn(path + ("sla", "max_outage_time"), "a single process monitor in "
                          "Yardstick reads only max_recover_time; ignored")
            if sla and recover is None:
                self.warn(path + ("sla",), "Yardstick fails on a process monitor whose sla "
                          "has no max_recover_time; ha-tests observes it without a limit")
        else:
            if outage is not None:
                limits["max_outage"] = float(outage)
            else:
                self.warn(path + ("sla",), f"Yardstick fails on a {monitor_type} monitor "
                          "without sla.max_outage_time (KeyError); ha-tests observes it "
                          "without a limit")
            if recover is not None:
                self.warn(path + ("sla", "max_recover_time"), f"a single {monitor_type} "
                          "monitor in Yardstick reads only max_outage_time; ignored")
        if limits:
            monitor["sla"] = limits
        elif is_process:
            # Yardstick passes a process monitor without limits: expected to go down, observed
            monitor["gate"] = False

    # -- operations, result checkers ------------------------------------------------------------
    def operations(self) -> list[dict[str, Any]]:
        """Operations and result checkers as native operations (a checker has an expect:)."""
        mapped: list[dict[str, Any]] = []
        for section, table, key_field, type_field, general in (
                ("operations", catalogue.OPERATIONS, "operation_key", "operation_type",
                 "general-operation"),
                ("resultCheckers", catalogue.RESULT_CHECKERS, "checker_key", "checker_type",
                 "general-result-checker")):
            entries = self.options.get(section)
            if not entries:
                continue
            if not isinstance(entries, list):
                raise self.fail(("options", section), f"'{section}' must be a list")
            for i, entry in enumerate(entries):
                path = ("options", section, i)
                if not isinstance(entry, dict):
                    raise self.fail(path, f"an entry of '{section}' is a mapping")
                if entry.get(type_field) != general:
                    raise self.fail(path + (type_field,), f"unknown {type_field} "
                                    f"{entry.get(type_field)!r}", f"Yardstick knows '{general}'")
                key = entry.get(key_field)
                if key not in table:
                    raise self.fail(path + (key_field,), f"unknown {key_field} {key!r}",
                                    did_you_mean(str(key), table) or
                                    "known: " + ", ".join(table))
                missing = catalogue.missing_scripts(table[key])
                if missing:
                    raise self.fail(path + (key_field,), f"'{key}' runs "
                                    f"{', '.join(missing)}, which Yardstick never shipped")
                if "key" not in entry:
                    raise self.fail(path + ("key",), "needs 'key' (its step names it)")
                self.warn_unread(entry, OPERATION_KEYS[section], path, f"its {section}")
                build = OPERATION_BUILDERS.get(key)
                if build is None:
                    what = "operation" if section == "operations" else "result checker"
                    raise self.fail(path + (key_field,), f"{what} '{key}' has no ha-tests "
                                    "equivalent yet (ha-tests maps nova-create-instance, "
                                    "nova-create-flavor, nova-flavor-checker and "
                                    "process-checker)",
                                    "see docs/yardstick.rst, 'Operations and result checkers'")
                operation = build(self, entry, path)
                operation["name"] = str(entry["key"])
                if self.host(entry, path, required=False) is not None:
                    operation["target"] = self.host(entry, path, required=False)
                if section == "resultCheckers":
                    operation["expect"] = self.expectation(entry, path)
                else:
                    returns = entry.get("return_parameter")
                    if returns is not None:
                        if not isinstance(returns, dict):
                            raise self.fail(path + ("return_parameter",), "'return_parameter' "
                                            "must map an output key to an @variable")
                        operation["sets"] = {str(v).lstrip("@"): str(k)
                                             for k, v in returns.items()}
                operation["_key"] = operation["name"]
                operation["_origin"] = self.base + path
                mapped.append(operation)
        return mapped

    def expectation(self, entry: dict, path: tuple) -> dict[str, Any]:
        condition = entry.get("condition")
        if condition not in CONDITIONS:
            raise self.fail(path + ("condition",), f"unknown condition {condition!r}",
                            did_you_mean(str(condition), CONDITIONS) or
                            "known: " + ", ".join(CONDITIONS))
        if "expectedValue" not in entry:
            raise self.fail(path + ("expectedValue",), "a result checker needs 'expectedValue'")
        return {"condition": condition, "value": entry["expectedValue"]}

    def words(self, entry: dict, key: str, path: tuple, least: int, what: str) -> list[str]:
        """A parameter mapping as the words the script saw ($1, $2, ...)."""
        words = " ".join(self.positional(entry, key, path, variables=True)).split()
        if len(words) < least:
            raise self.fail(path + (key,), f"needs {least} words ({what}), got {len(words)}")
        return words

    # -- steps (GeneralHA) ----------------------------------------------------------------------
    def ordered_by_steps(self, attackers: list[dict], monitors: list[dict],
                         operations: list[dict]):
        steps = self.options.get("steps")
        if not isinstance(steps, list) or not steps:
            raise self.fail(("options", "steps"), "GeneralHA runs only what its 'steps:' "
                            "name, and there are none", "add steps: [{actionKey: ..., "
                            "actionType: attacker|monitor, index: 1}, ...]")
        by_key = {"attacker": {a["_key"]: a for a in attackers},
                  "monitor": {m["_key"]: m for m in monitors if m["_key"] is not None},
                  "operation": {o["_key"]: o for o in operations if "expect" not in o},
                  "resultchecker": {o["_key"]: o for o in operations if "expect" in o}}
        indexed = []
        for i, step in enumerate(steps):
            path = ("options", "steps", i)
            if not isinstance(step, dict):
                raise self.fail(path, "a step is a mapping")
            for key in ("actionKey", "actionType", "index"):
                if key not in step:
                    raise self.fail(path + (key,), f"a step needs '{key}'")
            for key in step:
                if key not in ("actionKey", "actionType", "index"):
                    self.warn(path + (key,), "not read by Yardstick; ignored")
            if step["actionType"] not in STEP_TYPES:
                raise self.fail(path + ("actionType",), f"unknown actionType "
                                f"{step['actionType']!r}", did_you_mean(
                                    str(step["actionType"]), STEP_TYPES) or
                                "known: " + ", ".join(STEP_TYPES))
            index = step["index"]
            if isinstance(index, bool) or not isinstance(index, int | float):
                raise self.fail(path + ("index",), f"'index' must be a number, got {index!r}")
            indexed.append((index, i, step, path))
        ordered_attackers, started_monitors, ordered_operations = [], [], []
        attacked = False
        for _index, _i, step, path in sorted(indexed, key=lambda item: item[0]):
            kind, key = step["actionType"], str(step["actionKey"])
            table = by_key[kind]
            if key not in table:
                raise self.fail(path + ("actionKey",), f"no {kind} with key '{key}'",
                                did_you_mean(key, table) or f"{kind} keys: " +
                                (", ".join(table) or "none"))
            chosen = {"attacker": ordered_attackers, "monitor": started_monitors}.get(
                kind, ordered_operations)
            if kind == "attacker":
                attacked = True
            elif kind in ("operation", "resultchecker") and not any(
                    item is table[key] for item in chosen):
                # before the first attacker's step: before the fault; else right after it
                table[key]["at"] = "after-inject" if attacked else "before-inject"
            if any(item is table[key] for item in chosen):
                self.warn(path, f"{kind} '{key}' is already a step; Yardstick would run it "
                          "again, ha-tests runs it once")
                continue
            chosen.append(table[key])
        for attacker in attackers:
            if not any(attacker is a for a in ordered_attackers):
                self.warn(("options", "attackers"), f"attacker '{attacker['_key']}' is in no "
                          "step, so Yardstick never injects it; neither does ha-tests")
        for monitor in monitors:
            if not any(monitor is m for m in started_monitors):
                self.warn(("options", "monitors"), f"monitor '{monitor['name']}' is in no "
                          "step: Yardstick never starts it (and fails waiting for it); "
                          "ha-tests leaves it out")
        for operation in operations:
            if not any(operation is o for o in ordered_operations):
                self.warn(("options", "operations"), f"'{operation['_key']}' is in no step, "
                          "so Yardstick never runs it; neither does ha-tests")
        return ordered_attackers, started_monitors, ordered_operations

    # -- runner, scenario sla -----------------------------------------------------------------
    def runner(self) -> int:
        runner = self.raw.get("runner")
        if runner is None:
            return 1
        if not isinstance(runner, dict):
            raise self.fail(("runner",), "'runner' must be a mapping")
        kind = runner.get("type")
        if kind == "Iteration":
            iterations = runner.get("iterations", 1)
            if isinstance(iterations, bool) or not isinstance(iterations, int) or \
                    iterations < 1:
                raise self.fail(("runner", "iterations"), "'iterations' must be a whole "
                                f"number >= 1, got {iterations!r}")
            if iterations > 1:
                self.warn(("runner", "iterations"), f"Yardstick's {self.kind} cannot run a "
                          "second iteration (its monitor processes start only once); "
                          f"ha-tests repeats the fault {iterations} times")
            for key in runner:
                if key not in ("type", "iterations", "interval"):
                    self.warn(("runner", key), "has no effect on an HA scenario; ignored")
            return iterations
        if kind == "Duration":
            for key in runner:
                if key not in ("type", "duration", "interval"):
                    self.warn(("runner", key), "has no effect on an HA scenario; ignored")
            # an HA scenario outlasts any duration: Yardstick runs it once (a second run
            # would restart its monitors and fail), and so does ha-tests
            return 1
        raise self.fail(("runner", "type"), f"runner type {kind!r} is not supported for HA "
                        "scenarios", "use 'type: Iteration' or 'type: Duration'")

    def scenario_sla(self) -> None:
        sla = self.raw.get("sla")
        if sla is None:
            return
        if not isinstance(sla, dict):
            raise self.fail(("sla",), "'sla' must be a mapping")
        action = sla.get("action", "assert")
        if action not in ("assert", "monitor"):
            raise self.fail(("sla", "action"), f"unknown sla action {action!r}",
                            "Yardstick knows 'assert' and 'monitor'")
        self.case.sla_action = action
        for key in sla:
            if key == "action":
                continue
            self.warn(("sla", key), f"not read by Yardstick's {self.kind} (only each "
                      "monitor's own sla is); ignored")
        if action == "monitor":
            self.warn(("sla", "action"), "'monitor': Yardstick reports the test case PASS "
                      "with sla_pass 0 when a limit breaks; ha-tests reports it FAIL")


def map_scenario(raw: dict, index: int, test_case: str, source: SourceMap,
                 node_names: dict[str, str], inventory: Inventory | None,
                 warnings: list[str], *, multiple: bool = False,
                 description: str | None = None,
                 literal_commands: bool = False) -> MappedCase:
    """Map the scenario at ``scenarios[index]``; raise InputError naming case and field."""
    if not isinstance(raw, dict):
        raise InputError(source.problem(("scenarios", index),
                                        f"test case {test_case}: a scenario is a mapping"))
    mapper = _Mapper(raw, index, test_case, source, node_names, inventory, warnings, multiple,
                     literal_commands)
    mapper.raw_description = description
    return mapper.map()


def resolve_nodes(raw: dict, index: int, test_case: str, source: SourceMap,
                  contexts: dict[str, str], inventory: Inventory | None) -> dict[str, str]:
    """The scenario's ``nodes:`` (alias -> node.context) checked against contexts and pod."""
    nodes = raw.get("nodes") or {}
    base = ("scenarios", index, "nodes")
    if not isinstance(nodes, dict):
        raise InputError(source.problem(base, f"test case {test_case}: 'nodes' must be a "
                                        "mapping of alias: node.context"))
    resolved = {}
    for alias, target in nodes.items():
        if isinstance(target, dict):
            target = target.get("name")
        text = str(target)
        node, _, context = text.partition(".")
        if not context:
            raise InputError(source.problem(base + (alias,), f"test case {test_case}: node "
                                            f"'{text}' names no context",
                                            f"write '{text}.<context name>'"))
        if context not in contexts:
            raise InputError(source.problem(base + (alias,), f"test case {test_case}: no "
                                            f"context named '{context}'",
                                            did_you_mean(context, contexts) or
                                            "contexts: " + ", ".join(contexts)))
        if contexts[context] != "Node":
            raise InputError(source.problem(base + (alias,), f"test case {test_case}: node "
                                            f"'{text}' lives in a {contexts[context]} context, "
                                            "which ha-tests cannot deploy"))
        if inventory is not None and not any(n.name == text for n in inventory.nodes):
            raise InputError(Problem(
                source.file, *source.locate(base + (alias,)), format_path(base + (alias,)),
                f"test case {test_case}: pod.yaml has no node '{node}' for '{text}'",
                did_you_mean(text, [n.name for n in inventory.nodes]) or
                "pod nodes: " + ", ".join(n.name for n in inventory.nodes)))
        resolved[str(alias)] = text
    return resolved


# -- what each catalogued operation and checker is, natively -----------------------------------
def _create_instance(mapper: _Mapper, entry: dict, path: tuple) -> dict[str, Any]:
    name, image, flavor, *network = mapper.words(entry, "action_parameter", path, 3,
                                                 "name image flavor [network]")
    command = ["server", "create", name, "--image", image, "--flavor", flavor]
    if network and network[0] in ("none", "auto"):
        command += ["--nic", network[0]]  # a cloud without Neutron networks (the lab): none
    elif network:
        command += ["--network", network[0]]
    # Yardstick only asks for the server; ha-tests also waits until it is ACTIVE (or ERROR),
    # so the operation's result says whether the cloud really built it
    operation = {"type": "openstack", "command": command + ["--wait"], "timeout": 300.0}
    undo = mapper.positional(entry, "rollback_parameter", path, variables=True)
    if undo:
        operation["undo"] = ["server", "delete", " ".join(undo).split()[0], "--wait"]
    return operation


def _create_flavor(mapper: _Mapper, entry: dict, path: tuple) -> dict[str, Any]:
    name, flavor_id, ram, disk, vcpus, *_ = mapper.words(entry, "action_parameter", path, 5,
                                                          "name id ram disk vcpus")
    operation = {"type": "openstack", "command": [
        "flavor", "create", name, "--id", flavor_id, "--ram", ram, "--disk", disk, "--vcpus",
        vcpus]}
    undo = mapper.positional(entry, "rollback_parameter", path, variables=True)
    if undo:
        operation["undo"] = ["flavor", "delete", " ".join(undo).split()[0]]
    return operation


def _flavor_checker(mapper: _Mapper, entry: dict, path: tuple) -> dict[str, Any]:
    return {"type": "openstack", "command": ["flavor", "list"]}


def _process_checker(mapper: _Mapper, entry: dict, path: tuple) -> dict[str, Any]:
    if mapper.host(entry, path, required=False) is None:
        raise mapper.fail(path + ("host",), "process-checker counts processes on a node: it "
                          "needs 'host'")
    (process, *_) = mapper.words(entry, "parameter", path, 1, "the process name")
    # how many processes match the name, as the checker's script counts them
    return {"type": "command", "command": f"pgrep -f -c -- {shlex.quote(process)} || true"}


#: what Yardstick's GeneralOperaion and GeneralResultChecker read of an entry
OPERATION_KEYS = {
    "operations": {"operation_type", "key", "operation_key", "host", "action_parameter",
                   "rollback_parameter", "return_parameter"},
    "resultCheckers": {"checker_type", "key", "checker_key", "host", "parameter",
                       "expectedValue", "condition"},
}

OPERATION_BUILDERS = {
    "nova-create-instance": _create_instance,
    "nova-create-flavor": _create_flavor,
    "nova-flavor-checker": _flavor_checker,
    "process-checker": _process_checker,
}
