"""Read a Yardstick task file: detect it, render it, resolve its contexts and pod, map it.

``load_yardstick`` gives scenarios the engine runs as they are; ``convert`` writes the same
scenarios as native YAML for users who move over. Nothing is touched while loading: every
problem is an InputError naming the test case and the field, raised before any attack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ha_tests import plugins
from ha_tests.errors import InputError, Problem
from ha_tests.inventory import Inventory, Service
from ha_tests.inventory_formats.pod import load_pod
from ha_tests.scenario import Scenario, parse_scenario
from ha_tests.yamlsource import SourceMap, format_path, load_text, read_head, read_text
from ha_tests.yardstick.mapping import MappedCase, map_scenario, resolve_nodes
from ha_tests.yardstick.template import parse_task_args, render

SCHEMA = "yardstick:task:0.1"
_SCHEMA_LINE = re.compile(r"""^schema:\s*["']?yardstick:task:[0-9.]+["']?\s*(#.*)?$""",
                          re.MULTILINE)
#: task-level keys Yardstick reads
TASK_KEYS = {"schema", "description", "scenarios", "context", "contexts", "run_in_parallel",
             "precondition"}


def is_yardstick_file(path: str | Path) -> bool:
    """A Yardstick task file declares its schema; templates are not YAML yet, so read text."""
    head = read_head(path, 64 * 1024)
    return head is not None and _SCHEMA_LINE.search(head) is not None


@dataclass
class YardstickCase:
    """One Yardstick scenario, ready to run: the native scenario and what output needs."""

    mapped: MappedCase
    scenario: Scenario
    file: str

    @property
    def name(self) -> str:
        return self.mapped.name

    @property
    def test_case(self) -> str:
        return self.mapped.test_case


@dataclass
class LoadedTask:
    cases: list[YardstickCase]
    inventory: Inventory | None
    warnings: list[str] = field(default_factory=list)
    test_case: str = ""
    skipped: str | None = None


def _contexts(task: dict, source: SourceMap, test_case: str) -> list[tuple[int | None, dict]]:
    if "context" in task and "contexts" in task:
        raise InputError(source.problem(("contexts",), f"test case {test_case}: both "
                                        "'context' and 'contexts'", "keep one"))
    if "context" in task:
        if not isinstance(task["context"], dict):
            raise InputError(source.problem(("context",), f"test case {test_case}: "
                                            "'context' must be a mapping"))
        return [(None, task["context"])]
    if "contexts" in task:
        if not isinstance(task["contexts"], list):
            raise InputError(source.problem(("contexts",), f"test case {test_case}: "
                                            "'contexts' must be a list"))
        return list(enumerate(task["contexts"]))
    return []


def _precondition_met(task: dict, environ: dict[str, str]) -> str | None:
    """Yardstick's precondition check against INSTALL_TYPE, DEPLOY_SCENARIO, NODE_NAME."""
    pre = task.get("precondition")
    if not isinstance(pre, dict):
        return None
    installer, scenarios, pods = (pre.get("installer_type"), pre.get("deploy_scenarios"),
                                  pre.get("pod_name"))
    env_installer, env_scenario, env_pod = (environ.get("INSTALL_TYPE"),
                                            environ.get("DEPLOY_SCENARIO"),
                                            environ.get("NODE_NAME"))
    if installer and env_installer and env_installer not in installer:
        return f"installer {env_installer} is not {installer}"
    if scenarios and env_scenario:
        if not any(env_scenario.startswith(s) for s in str(scenarios).split(",")):
            return f"deploy scenario {env_scenario} is not one of {scenarios}"
        return None
    if pods and env_pod and env_pod not in pods:
        return f"pod {env_pod} is not one of {pods}"
    return None


def load_cases(path: str | Path, pod_path: str | Path | None = None,
               task_args: str | dict | None = None, *,
               inventory: Inventory | None = None, known_hosts: str | None = None,
               environ: dict[str, str] | None = None,
               literal_commands: bool = False) -> LoadedTask:
    """Everything about a Yardstick task file that running and reporting it needs.

    ``inventory`` (optional, native) lends the pod its services map, VIPs, cloud and SSH
    defaults: the pod still decides which nodes exist and how they are named.
    ``literal_commands`` runs every ``openstack-cmd`` through the CLI, as Yardstick does,
    instead of making the same API request directly (the default where one matches).
    """
    import os

    environ = dict(os.environ) if environ is None else environ
    path = Path(path)
    file = str(path)
    test_case = path.stem
    warnings: list[str] = []
    text = read_text(path)
    rendered = render(text, parse_task_args(task_args), file)
    task, source = load_text(rendered, file)
    if not isinstance(task, dict):
        raise InputError(Problem(file, 1, 1, "", f"test case {test_case}: a task file is a "
                                 "mapping with 'schema:' and 'scenarios:'"))
    if task.get("schema") != SCHEMA:
        raise InputError(source.problem(("schema",), f"test case {test_case}: schema "
                                        f"{task.get('schema')!r} is not {SCHEMA!r}"))
    for key in task:
        if key not in TASK_KEYS:
            warnings.append(f"{test_case}: {key}: not read by Yardstick; ignored")
    if task.get("run_in_parallel"):
        raise InputError(source.problem(("run_in_parallel",), f"test case {test_case}: "
                                        "run_in_parallel runs the scenarios at once; ha-tests "
                                        "runs one fault at a time", "remove it"))
    skipped = _precondition_met(task, environ)
    if skipped:
        warnings.append(f"{test_case}: precondition: not met ({skipped}); Yardstick skips "
                        "the test case, and so does ha-tests")

    node_contexts: dict[str, str] = {}
    pod_inventory: Inventory | None = None
    for index, context in _contexts(task, source, test_case):
        where = ("context",) if index is None else ("contexts", index)
        if not isinstance(context, dict):
            raise InputError(source.problem(where, f"test case {test_case}: a context is a "
                                            "mapping"))
        kind = context.get("type", "Heat")
        name = str(context.get("name", ""))
        if kind == "Dummy":
            continue
        if kind != "Node":
            raise InputError(source.problem(
                where + ("type",) if "type" in context else where,
                f"test case {test_case}: a {kind} context "
                f"{'(the default type) ' if 'type' not in context else ''}named '{name}' "
                "deploys its own servers (a stack with VMs and networks); ha-tests tests "
                "the cloud that exists and deploys nothing",
                "create the servers beforehand and describe them in a Node context's "
                "pod.yaml, or run this case in Yardstick"))
        if not name:
            raise InputError(source.problem(where, f"test case {test_case}: a Node context "
                                            "needs 'name'"))
        for key in context:
            if key == "env" and context[key]:
                raise InputError(source.problem(where + ("env",), f"test case {test_case}: "
                                                "context setup/teardown scripts (env) are "
                                                "not run by ha-tests", "run them yourself "
                                                "before and after"))
            if key not in ("type", "name", "file", "env"):
                warnings.append(f"{test_case}: {'.'.join(map(str, where))}.{key}: not read "
                                "by Yardstick's Node context; ignored")
        node_contexts[name] = kind
        if pod_inventory is not None:
            raise InputError(source.problem(where, f"test case {test_case}: more than one "
                                            "Node context", "ha-tests reads one pod.yaml"))
        pod_file = Path(pod_path) if pod_path else Path(str(context.get("file", "pod.yaml")))
        if pod_file.exists():
            pod_inventory = load_pod(pod_file, name, warnings, known_hosts=known_hosts)
        elif pod_path:
            raise InputError(Problem(str(pod_file), None, None, "", "no such pod file"))
        else:
            warnings.append(f"{test_case}: {'.'.join(map(str, where))}.file: {pod_file} "
                            "does not exist; pass --pod to run against nodes")

    scenarios = task.get("scenarios")
    if not isinstance(scenarios, list) or not scenarios:
        raise InputError(source.problem(("scenarios",), f"test case {test_case}: no "
                                        "'scenarios:' list"))
    mapped: list[MappedCase] = []
    for index, raw in enumerate(scenarios):
        names = resolve_nodes(raw if isinstance(raw, dict) else {}, index, test_case, source,
                              node_contexts, None)
        mapped.append(map_scenario(raw, index, test_case, source, names, pod_inventory,
                                   warnings, multiple=len(scenarios) > 1,
                                   description=task.get("description"),
                                   literal_commands=literal_commands))
        # what cannot run anywhere is reported before what does not match this pod
        resolve_nodes(raw, index, test_case, source, node_contexts, pod_inventory)

    services: dict[str, dict[str, Any]] = {}
    for case in mapped:
        for name, service in case.services.items():
            services.setdefault(name, service)
    run_inventory = _with_services(pod_inventory, services, inventory) \
        if pod_inventory is not None else None
    cases = [YardstickCase(case, _parse_native(case, source), file) for case in mapped]
    return LoadedTask(cases, run_inventory, warnings, test_case, skipped)


def _parse_native(case: MappedCase, yardstick: SourceMap) -> Scenario:
    """Through the native parser, so a converted file and a direct run are the same thing.

    A problem found there is reported at the Yardstick entry it came from.
    """
    for section, group in (("attackers", plugins.ATTACKERS), ("monitors", plugins.MONITORS)):
        for entry in case.native[section]:
            try:
                plugins.load(group, entry["type"])
            except Exception as exc:  # an entry point whose module is not there yet
                origin = case.origins[(section, entry["name"])]
                raise InputError(yardstick.problem(
                    origin, f"test case {case.test_case}: maps to the ha-tests "
                    f"{section[:-1]} '{entry['type']}', which cannot be loaded here "
                    f"({type(exc).__name__}: {exc})",
                    "install the ha-tests release that ships it ('ha-tests plugins' lists "
                    "what is installed)")) from None
    data, source = load_text(dump_native(case), f"{yardstick.file} (as converted)")
    try:
        return parse_scenario(data, source)
    except InputError as exc:
        problems = []
        for problem in exc.problems:
            section, _, rest = problem.path.partition("[")
            index = rest.split("]", 1)[0]
            origin: tuple = ()
            if section in ("attackers", "monitors") and index.isdigit():
                name = case.native[section][int(index)]["name"]
                origin = case.origins.get((section, name), ())
            line, column = yardstick.locate(origin) if origin else (None, None)
            problems.append(Problem(yardstick.file, line, column,
                                    format_path(origin) if origin else problem.path,
                                    f"test case {case.test_case}: as ha-tests "
                                    f"{problem.path}: {problem.message}", problem.hint))
        raise InputError(problems) from None


def _with_services(pod: Inventory, services: dict[str, dict[str, Any]],
                   native: Inventory | None) -> Inventory:
    """The pod's nodes, with the services its attackers restart (start_service.bash)."""
    merged: dict[str, Service] = {}
    for name, spec in services.items():
        own = native.services.get(name) if native is not None else None
        if own is not None:
            # the native inventory knows how this cloud really manages it; keep the
            # Yardstick kill pattern only where the inventory has none
            merged[name] = own if own.process else own.model_copy(
                update={"process": spec.get("process")})
        else:
            roles = sorted({r for n in pod.nodes for r in n.roles})
            merged[name] = Service(roles=roles, **spec)
    update: dict[str, Any] = {"services": merged}
    if native is not None:
        update.update({"cloud": native.cloud, "clouds_yaml": native.clouds_yaml,
                       "vips": native.vips, "test_target": native.test_target,
                       "ssh": native.ssh.merged(pod.ssh) if pod.ssh else native.ssh,
                       "lab": native.lab})
    inventory = pod.model_copy(update=update)
    inventory._source_file = pod.source_file
    return inventory


def load_yardstick(path: str | Path, pod_path: str | Path | None = None,
                   task_args: str | dict | None = None, **options: Any
                   ) -> tuple[list[Scenario], Inventory | None, list[str]]:
    """Scenarios the engine runs unchanged, the pod as an Inventory (None without a pod), and
    the warnings about fields Yardstick ignores or ha-tests treats differently."""
    task = load_cases(path, pod_path, task_args, **options)
    scenarios = [] if task.skipped else [case.scenario for case in task.cases]
    return scenarios, task.inventory, task.warnings


# -- conversion ------------------------------------------------------------------------------
class _NativeDumper(yaml.SafeDumper):
    """Block style, insertion order: a converted file reads like a hand-written one."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_NativeDumper.add_representer(str, _represent_str)


def _ordered(entry: dict[str, Any]) -> dict[str, Any]:
    """type, name, target first: the way the README writes an attacker or monitor."""
    first = {k: entry[k] for k in ("type", "name", "target") if k in entry}
    return {**first, **{k: v for k, v in entry.items() if k not in first}}


def dump_native(case: MappedCase) -> str:
    native = dict(case.native)
    for section in ("attackers", "monitors"):
        native[section] = [_ordered(e) for e in native.get(section, [])]
    return yaml.dump(native, Dumper=_NativeDumper, sort_keys=False,
                     default_flow_style=False, width=100, allow_unicode=True)


def _header(case: MappedCase, file: str, warnings: list[str]) -> str:
    lines = [f"# Converted from Yardstick's {case.test_case} ({Path(file).name}), "
             f"scenario {case.index + 1} ({case.scenario_type}).",
             "# Monitor names are Yardstick's output tags (<tag>_outage_time, ...)."]
    if case.needs:
        lines.append("# Monitors that need an OpenStack service ('ha-tests yardstick run' "
                     "reports them not applicable")
        lines.append("# when the cloud's catalog lacks it; plain 'ha-tests run' runs them "
                     "as they are):")
        lines += [f"#   {name}: {need}" for name, need in case.needs.items()]
    if case.instruments:
        lines.append("# Measured by one API request per sample instead of a CLI process "
                     "(--literal-commands runs the CLI):")
        lines += [f"#   {command}: {how}" for command, how in case.instruments.items()]
    if case.attack_needs:
        lines.append("# Attacks on OpenStack services (skipped as not applicable where the "
                     "catalog lacks them): " + ", ".join(f"{n}: {need}" for n, need
                                                         in case.attack_needs.items()))
    if case.services:
        lines.append("# The attackers restart these inventory services, as Yardstick's "
                     "start_service.bash would: " + ", ".join(case.services))
    relevant = [w for w in warnings if w.startswith(f"{case.test_case}:")]
    if relevant:
        lines.append("# Warnings:")
        lines += [f"#   {w}" for w in relevant]
    return "\n".join(lines) + "\n"


def convert_cases(path: str | Path, pod_path: str | Path | None = None,
                  task_args: str | dict | None = None, **options: Any
                  ) -> tuple[list[tuple[str, str]], list[str]]:
    """(scenario name, native YAML text) for each scenario, and the warnings."""
    task = load_cases(path, pod_path, task_args, **options)
    documents = [(case.name, _header(case.mapped, case.file, task.warnings)
                  + dump_native(case.mapped)) for case in task.cases]
    return documents, task.warnings


def convert(path: str | Path, pod_path: str | Path | None = None,
            task_args: str | dict | None = None, **options: Any) -> str:
    """The equivalent native scenario YAML (one document per Yardstick scenario)."""
    documents, _warnings = convert_cases(path, pod_path, task_args, **options)
    return "---\n".join(text for _name, text in documents)
