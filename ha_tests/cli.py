"""The ``ha-tests`` command: run, validate, list, show, plugins, lab, demo.

Exit codes (README.rst, "Exit codes"): 0 pass, 1 SLA failed, 2 bad input, 3 target
unreachable or preflight failed, 4 rollback failed (a node may be degraded), 5 internal error,
6 too few scenarios measured (skipped is not passed), 130 interrupted (after rollback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ha_tests import __version__, plugins
from ha_tests.errors import ExitCode, HaTestsError, InputError
from ha_tests.masking import mask_text
from ha_tests.scenario_files import expand_scenarios, shipped_scenarios_dir


def discovery_commands():
    """``discover`` and the doors' discovery (docs/discovery.rst), imported when used."""
    from ha_tests.discovery import commands

    return commands


# -- commands -----------------------------------------------------------------------------
def cmd_validate(args) -> int:
    from ha_tests.inventory import load_inventory
    from ha_tests.scenario import load_scenario
    from ha_tests.yardstick import is_yardstick_file, load_cases

    failed = False
    for path in expand_scenarios(args.files) if args.files else []:
        try:
            if is_yardstick_file(path):
                task = load_cases(path, args.pod)
                for warning in task.warnings:
                    print(f"warning: {warning}", file=sys.stderr)
                print(f"{path}: ok (Yardstick test case, {len(task.cases)} scenario(s))")
                continue
            load_scenario(path)
            print(f"{path}: ok")
        except InputError as exc:
            failed = True
            print(str(exc), file=sys.stderr)
    if args.inventory:
        try:
            load_inventory(args.inventory)
            print(f"{args.inventory}: ok (inventory)")
        except InputError as exc:
            failed = True
            print(str(exc), file=sys.stderr)
    return ExitCode.BAD_INPUT if failed else ExitCode.PASS


def cmd_list(args) -> int:
    from ha_tests.results import format_table
    from ha_tests.scenario import load_scenario

    rows = []
    for path in sorted(shipped_scenarios_dir().glob("*.yaml")):
        try:
            scenario = load_scenario(path)
        except InputError as exc:
            rows.append([path.stem, "?", f"INVALID: {exc.problems[0].message}"])
            continue
        if args.gap and scenario.gap != args.gap:
            continue
        requires = ", ".join(scenario.model.requires) or "-"
        rows.append([scenario.name, scenario.gap, requires,
                     scenario.model.description.strip().splitlines()[0][:70]
                     if scenario.model.description.strip() else ""])
    print(format_table(rows, ["scenario", "gap", "requires", "description"]))
    return ExitCode.PASS


def cmd_show(args) -> int:
    from ha_tests.results import format_summary, load_summary

    for directory in args.result_dirs:
        print(format_summary(load_summary(Path(directory))))
    return ExitCode.PASS


def cmd_plugins(args) -> int:
    for group, title in ((plugins.ATTACKERS, "attackers"), (plugins.MONITORS, "monitors")):
        print(f"{title}:")
        for name in plugins.names(group):
            cls = plugins.load(group, name)
            doc = (cls.__module__ and sys.modules[cls.__module__].__doc__ or "").strip()
            print(f"  {name:<18} {doc.splitlines()[0] if doc else ''}")
    return ExitCode.PASS


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def _policy(args, **more):
    from ha_tests.session import Policy

    junit = getattr(args, "junit", None)
    options = {"allow_destructive": getattr(args, "i_know", False), "seed": args.seed,
               "junit": Path(junit) if junit else None, "png": getattr(args, "png", False),
               "min_measured": getattr(args, "allow_skips", None)}
    return Policy(**{**options, **more})


def _session(args, inventory, policy):
    from ha_tests.progress import Progress
    from ha_tests.session import Session, default_results_dir

    results = Path(args.results) if args.results else default_results_dir()
    return Session(inventory, results, policy,
                   progress=Progress(quiet=getattr(args, "quiet", False)), say=_say)


def cmd_run(args) -> int:
    from ha_tests import yardstick_cli as yardstick_commands
    from ha_tests.inventory_formats import resolve_inventory
    from ha_tests.results import format_table, gap_table
    from ha_tests.scenario import load_scenario
    from ha_tests.session import print_dry_run
    from ha_tests.yardstick import is_yardstick_file

    paths = expand_scenarios(args.scenarios)
    yardstick_paths = [p for p in paths if is_yardstick_file(p)]
    native_paths = [p for p in paths if p not in yardstick_paths]
    # everything is validated before anything is touched
    scenarios = [load_scenario(p) for p in native_paths]
    tasks = yardstick_commands.load_tasks(yardstick_paths, args) if yardstick_paths else []
    inventory = resolve_inventory(args.inventory, getattr(args, "inventory_format", "auto")) \
        if scenarios else None
    if inventory is not None:
        inventory = discovery_commands().completed(inventory, scenarios, args)
    output = getattr(args, "output", None)
    session = _session(args, inventory, _policy(
        args, yardstick_out=Path(output) if output else None))
    plan = session.plan(scenarios, tasks)
    if args.dry_run:
        return print_dry_run(plan)
    result = session.run(plan)
    print(format_table(gap_table(result.summaries)))
    print("\n" + result.coverage.text())
    return result.exit_code


def cmd_report(args) -> int:
    """Build report.html from results directories alone (never from a live run)."""
    from ha_tests.report import build_report
    from ha_tests.report.history import compare, format_changes
    from ha_tests.report.png import PngUnavailable, export_pngs
    from ha_tests.report.records import load_runs
    from ha_tests.session import default_results_dir

    paths = [Path(p) for p in args.results_dirs] or [default_results_dir()]
    if args.history:
        from ha_tests.run_exports import report_trends
        print(report_trends(paths, Path(args.history), args.last))
    pair = None
    if args.compare:
        before, after = [Path(args.compare[0])], [Path(args.compare[1])]
        print(format_changes(compare(load_runs(before), load_runs(after))))
        pair = (before, after)
        paths = [Path(p) for p in args.results_dirs] or [*before, *after]
    output = Path(args.output) if args.output else (
        paths[0] / "report.html" if len(paths) == 1 else Path("report.html"))
    build_report(paths, output, compare=pair)
    print(f"report: {output}", file=sys.stderr)
    if args.png:
        try:
            for png_file in export_pngs(load_runs(paths)):
                print(f"timeline: {png_file}", file=sys.stderr)
        except PngUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return ExitCode.BAD_INPUT
    return ExitCode.PASS


def cmd_analyze(args) -> int:
    """Rebuild summary.json, junit.xml and the report of results directories from their
    events.jsonl alone, as the run itself wrote them."""
    from ha_tests.analysis import analyze, history_dirs
    from ha_tests.report import build_report
    from ha_tests.results import format_table, gap_table

    dirs = history_dirs([Path(p) for p in args.result_dirs])
    summaries = [analyze(d) for d in dirs]
    for directory in dirs:
        print(f"analysed: {directory / 'summary.json'}", file=sys.stderr)
    if not args.no_report:
        output = Path(args.output) if args.output else (
            dirs[0] / "report.html" if len(dirs) == 1 else Path("report.html"))
        build_report(dirs, output)
        print(f"report: {output}", file=sys.stderr)
    print(format_table(gap_table(summaries)))
    return ExitCode.PASS


def cmd_validate_deployment(args) -> int:
    """Installer post-deploy gate (gap-6): a profile, a time budget, JUnit XML, an exit code."""
    import time

    from ha_tests.inventory_formats import resolve_inventory
    from ha_tests.profiles import load_profile, profile_paths
    from ha_tests.results import format_table, gap_table
    from ha_tests.scenario import load_scenario
    from ha_tests.session import default_results_dir, print_dry_run
    from ha_tests.summary import Status

    profile = load_profile(args.profile)
    scenarios = [load_scenario(p) for p in profile_paths(args.profile)]
    inventory = resolve_inventory(args.inventory, args.inventory_format)
    inventory = discovery_commands().completed(inventory, scenarios, args)
    budget = args.max_time or profile.max_total_time
    results_root = Path(args.results) if args.results else default_results_dir()
    junit_path = Path(args.junit) if args.junit else results_root / f"{args.profile}-junit.xml"
    least = profile.min_measured if args.allow_skips is None else args.allow_skips
    policy = _policy(args, junit=junit_path, junit_name=f"ha-tests.{args.profile}",
                     max_time=budget, label=args.profile, gate=profile.name,
                     min_measured=least)
    session = _session(args, inventory, policy)
    plan = session.plan(scenarios)
    if args.dry_run:
        return print_dry_run(plan)
    started = time.monotonic()
    result = session.run(plan)
    code = result.exit_code
    summaries = result.summaries
    passed = sum(1 for s in summaries if s.status is Status.PASS)
    gate = result.coverage
    print(format_table(gap_table(result.table)))
    print(f"\n{profile.name}: {passed}/{len(summaries)} passed, {gate.headline} in "
          f"{time.monotonic() - started:.0f} s (budget {budget:g} s); JUnit: {junit_path}; "
          f"exit {code}")
    for line in gate.lines()[1:]:
        print(line)
    if not gate.enough:
        print(f"error: {gate.verdict()}", file=sys.stderr)
    return code


def cmd_heal(args) -> int:
    """Heal every fault whose runner died (kill -9, OOM, power loss) before rolling back."""
    from ha_tests.heal import heal_orphans
    from ha_tests.inventory_formats import load_any
    from ha_tests.ledger import Ledger

    ledger = Ledger()
    inventory = load_any(args.inventory) if args.inventory else None
    results = heal_orphans(ledger, inventory)
    if not results:
        print(f"nothing to heal (ledger: {ledger.directory})")
        return ExitCode.PASS
    for result in results:
        undo = result.get("kind") == "operation-undo"
        state = ("undone" if undo else "healed") if result["ok"] else \
            f"FAILED: {result.get('error')}"
        where = f" on {','.join(result['nodes'])}" if result.get("nodes") else ""
        print(f"{result.get('scenario', '?')}/{result['attacker']}{' (undo)' if undo else ''}"
              f"{where}: {state}")
    return ExitCode.PASS if all(r["ok"] for r in results) else ExitCode.ROLLBACK_FAILED


def cmd_demo(args) -> int:
    """The main job: bring the lab up (the full one when the machine can hold it), run the
    shipped scenarios it can serve as one gate, end with the gap-area table; take the lab
    down."""
    from ha_tests import demo
    from ha_tests.estimate import minutes
    from ha_tests.inventory_formats import resolve_inventory
    from ha_tests.lab import Lab
    from ha_tests.results import format_table, gap_table
    from ha_tests.scenario import load_scenario

    lab = Lab(name=args.name, cidr=args.cidr)
    was_up = lab.is_up()
    if was_up:
        _say(f"lab {lab.name} is already up with the {lab.plan.profile} profile; using it")
    else:
        choice = demo.choose_lab(demo.available_gib(), demo.full_lab_packages())
        _say(choice.why)
        lab = Lab(name=args.name, cidr=args.cidr, profile=choice.profile)
        lab.up(progress=_say)
    try:
        scenarios = [load_scenario(p) for p in expand_scenarios([str(shipped_scenarios_dir())])]
        if args.quick:
            scenarios = demo.quick_selection(scenarios)
        inventory = discovery_commands().completed(
            resolve_inventory(str(lab.inventory_path)), scenarios, args)
        session = _session(args, inventory, _policy(args, gate="demo", countdown=True))
        plan = session.plan(scenarios)
        runnable = [e for e in plan.entries if not e.skip]
        _say(f"{len(plan.entries)} scenarios, {len(runnable)} runnable on this lab: about "
             f"{minutes(session.countdown(plan).estimate)}")
        result = session.run(plan)
        print(format_table(gap_table(result.table)))
        return result.exit_code
    finally:
        if not was_up and not args.keep_lab:
            lab.down()


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share: give a number from 0 to 1 "
                                         "(0.5: half the scenarios must be measured)")
    return value


def add_allow_skips(parser) -> None:
    parser.add_argument("--allow-skips", nargs="?", type=_share, const=0.0, default=None,
                        metavar="SHARE", help="pass the gate even when fewer scenarios were "
                        "measured than the profile's min_measured (default: at least one): "
                        "alone, even none (exit 0 instead of 6); with SHARE (0..1), at least "
                        "that share")


def build_parser() -> argparse.ArgumentParser:
    from ha_tests import run_exports

    parser = argparse.ArgumentParser(
        prog="ha-tests", description="HA fault-injection tests for OpenStack clouds.")
    parser.add_argument("--version", action="version", version=f"ha-tests {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run scenarios against the inventory (default: the lab)")
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                     help="scenario file, directory, or shipped scenario name")
    run.add_argument("-i", "--inventory", help="inventory file (default: $HA_TESTS_INVENTORY, "
                     "else the lab's): ha-tests format, Yardstick pod.yaml or Ansible")
    run.add_argument("--inventory-format", default="auto",
                     metavar="FORMAT",
                     help="auto (the default), ha-tests, pod, ansible or a registered one")
    yardstick = run.add_argument_group("Yardstick test cases (run unchanged)")
    yardstick.add_argument("--pod", help="Yardstick pod.yaml for Yardstick test-case files")
    yardstick.add_argument("--task-args", help="Yardstick task arguments (YAML/JSON), e.g. "
                           "'{\"attack_host\": \"node2\"}'")
    yardstick.add_argument("--task-args-file", help="a YAML file of task arguments")
    yardstick.add_argument("--known-hosts", help="known_hosts for the nodes' host keys, for "
                           "inventories that name none (a pod.yaml, given as -i or --pod)")
    yardstick.add_argument("--literal-commands", action="store_true",
                           help="run Yardstick's 'openstack ...' monitor commands as the CLI "
                                "(slow) instead of the equivalent API call")
    yardstick.add_argument("-o", "--output", help="Yardstick output record (default: "
                           "RESULTS/yardstick.out)")
    run.add_argument("-r", "--results", help="results directory (default: ./results)")
    run.add_argument("--seed", type=int, help="seed for random target picks (replays a run)")
    run.add_argument("--junit", help="also write one JUnit XML file for all scenarios")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    run.add_argument("--dry-run", action="store_true",
                     help="show what would be attacked, where and in what order; touch nothing")
    run.add_argument("--i-know-this-is-destructive", dest="i_know", action="store_true",
                     help="allow destructive scenarios on an inventory not marked test_target")
    run.add_argument("--png", action="store_true",
                     help="also write PNG timelines into each scenario's results (Chromium)")
    add_allow_skips(run)
    run_exports.add_arguments(run)
    discovery_commands().add_run_options(run)
    run.set_defaults(func=run_exports.exported(cmd_run))

    report = sub.add_parser("report", help="HTML report (timelines, gap-area table, history) "
                            "from results directories")
    report.add_argument("results_dirs", nargs="*", metavar="RESULT_DIR",
                        help="a scenario's results, a run's, or a whole tree (default: "
                             "./results)")
    report.add_argument("-o", "--output", help="HTML file to write (default: RESULT_DIR/"
                        "report.html for one directory, else ./report.html)")
    report.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"),
                        help="say what got better or worse from BEFORE to AFTER")
    report.add_argument("--png", action="store_true",
                        help="also write timeline-<iteration>.png into each scenario's results")
    report.add_argument("--history", metavar="DIR", help="say how each run's recovery "
                        "compares with its last runs in DIR (regressed, improved, no change)")
    report.add_argument("--last", type=int, default=run_exports.DEFAULT_LAST, metavar="N",
                        help="with --history: compare with the last N runs (default "
                             f"{run_exports.DEFAULT_LAST})")
    report.set_defaults(func=cmd_report)

    analyze = sub.add_parser("analyze", help="rebuild summary.json, junit.xml and the report "
                             "from a run's events.jsonl alone")
    analyze.add_argument("result_dirs", nargs="+", metavar="RESULT_DIR",
                         help="a scenario's results (holding events.jsonl), a run's, or a "
                              "whole tree")
    analyze.add_argument("-o", "--output", help="HTML file to write (default: RESULT_DIR/"
                         "report.html for one directory, else ./report.html)")
    analyze.add_argument("--no-report", action="store_true", help="only the summaries")
    analyze.set_defaults(func=cmd_analyze)

    validate = sub.add_parser("validate", help="check scenario files without touching anything")
    validate.add_argument("files", nargs="*", metavar="FILE")
    validate.add_argument("-i", "--inventory", help="also validate this inventory")
    validate.add_argument("--pod", help="pod.yaml for Yardstick test-case files")
    validate.set_defaults(func=cmd_validate)

    lst = sub.add_parser("list", help="shipped scenarios and their gap areas")
    lst.add_argument("--gap", help="only this gap area (gap-1 ... gap-6, classic)")
    lst.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="a table of a run's summary")
    show.add_argument("result_dirs", nargs="+", metavar="RESULT_DIR")
    show.set_defaults(func=cmd_show)

    plug = sub.add_parser("plugins", help="installed attackers and monitors")
    plug.set_defaults(func=cmd_plugins)

    deploy = sub.add_parser("validate-deployment",
                            help="installer post-deploy gate: a profile, JUnit XML, exit code")
    deploy.add_argument("--profile", default="post-deploy", help="scenario profile "
                        "(scenarios/profiles/*.yaml; default post-deploy)")
    deploy.add_argument("-i", "--inventory", help="ha-tests inventory, Yardstick pod.yaml or "
                        "Ansible inventory (INI/YAML)")
    deploy.add_argument("--inventory-format", default="auto",
                        metavar="FORMAT",
                        help="auto (the default), ha-tests, pod, ansible or a registered one")
    deploy.add_argument("--known-hosts", help="known_hosts to verify the nodes' host keys "
                        "with, for inventories that name none (a Yardstick pod.yaml)")
    deploy.add_argument("-r", "--results", help="results directory (default: ./results)")
    deploy.add_argument("--junit", help="JUnit XML path (default: RESULTS/PROFILE-junit.xml)")
    deploy.add_argument("--max-time", type=float, help="seconds for the whole profile "
                        "(default: the profile's)")
    deploy.add_argument("--seed", type=int)
    deploy.add_argument("-q", "--quiet", action="store_true")
    deploy.add_argument("--dry-run", action="store_true")
    deploy.add_argument("--i-know-this-is-destructive", dest="i_know", action="store_true",
                        help="allow destructive scenarios on an inventory not marked "
                             "test_target")
    add_allow_skips(deploy)
    run_exports.add_arguments(deploy)
    discovery_commands().add_run_options(deploy)
    deploy.set_defaults(func=run_exports.exported(cmd_validate_deployment))
    discovery_commands().register(sub)

    heal = sub.add_parser("heal", help="heal faults left in force by a runner that died")
    heal.add_argument("-i", "--inventory", help="only entries of this inventory")
    heal.set_defaults(func=cmd_heal)

    demo = sub.add_parser("demo", help="the main job: lab up, run the shipped scenarios, "
                                       "lab down")
    demo.add_argument("-r", "--results", help="results directory (default: ./results)")
    demo.add_argument("--seed", type=int)
    demo.add_argument("--junit", help="also write one JUnit XML file for all scenarios")
    demo.add_argument("--keep-lab", action="store_true", help="leave the lab up afterwards")
    demo.add_argument("--quick", action="store_true",
                      help="one scenario per gap area (and one classic case)")
    from ha_tests.lab.plan import DEFAULT_CIDR, DEFAULT_NAME

    demo.add_argument("--name", default=DEFAULT_NAME, help="the lab's name (default "
                      "%(default)s; give each concurrent demo its own, with --cidr)")
    demo.add_argument("--cidr", default=DEFAULT_CIDR,
                      help="the lab's address range (default %(default)s)")
    demo.set_defaults(func=cmd_demo)

    from ha_tests import yardstick_cli as yardstick_commands

    yardstick_commands.register(sub)
    try:
        from ha_tests.lab import commands as lab_commands
    except ImportError:  # the lab is optional on a runner that only targets real clouds
        lab_commands = None
    if lab_commands is not None:
        lab_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # paramiko logs a peer's reset at ERROR from its own thread (a node powered off on
        # purpose does that); what it means for the run reaches the user as the command's
        # TransportError, with the node's name
        logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except HaTestsError as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
