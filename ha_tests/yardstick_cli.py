"""``ha-tests yardstick run|convert``: Yardstick's HA test cases, unchanged, on the ha-tests engine.

``run`` writes Yardstick's ``yardstick.out`` record beside ha-tests' own results; ``convert``
writes the equivalent native scenario for users who move over.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ha_tests.errors import ExitCode, InputError, Problem


def _task_args(args) -> dict:
    from ha_tests.yardstick.template import parse_task_args

    merged: dict = {}
    if getattr(args, "task_args_file", None):
        from ha_tests.yamlsource import read_text

        text = read_text(args.task_args_file)
        merged.update(parse_task_args(text, args.task_args_file))
    merged.update(parse_task_args(args.task_args))
    return merged


def _load(path: str, args):
    from ha_tests.inventory import load_inventory
    from ha_tests.yardstick.loader import load_cases

    native = load_inventory(args.inventory) if getattr(args, "inventory", None) else None
    task = load_cases(path, args.pod, _task_args(args), inventory=native,
                      known_hosts=getattr(args, "known_hosts", None),
                      literal_commands=getattr(args, "literal_commands", False))
    for warning in task.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return task


def load_tasks(paths, args) -> list:
    """Every task loaded and checked before anything is attacked (also for ``ha-tests run``);
    whether it may attack its pod is the Session's decision, as at every door."""
    tasks = [_load(str(path), args) for path in paths]
    for task in tasks:
        if task.inventory is None and not task.skipped:
            raise InputError(Problem(task.test_case, None, None, "context.file",
                                     f"test case {task.test_case}: no pod.yaml found",
                                     "pass --pod pod.yaml"))
    return tasks


def cmd_run(args) -> int:
    from ha_tests.progress import Progress
    from ha_tests.results import format_table, summary_rows
    from ha_tests.session import Policy, Session, default_results_dir, print_dry_run

    tasks = load_tasks(args.testcases, args)
    results_root = Path(args.results) if args.results else default_results_dir()
    policy = Policy(allow_destructive=args.i_know, seed=args.seed,
                    junit=Path(args.junit) if args.junit else None,
                    yardstick_out=Path(args.output) if args.output else None)
    session = Session(None, results_root, policy, progress=Progress(quiet=args.quiet),
                      say=lambda text: print(text, file=sys.stderr))
    plan = session.plan(tasks=tasks)
    if args.dry_run:
        return print_dry_run(plan)
    result = session.run(plan)
    if result.summaries:
        print(format_table(summary_rows(result.summaries)))
    return result.exit_code


def cmd_convert(args) -> int:
    from ha_tests.inventory import load_inventory
    from ha_tests.yardstick.loader import convert_cases

    native = load_inventory(args.inventory) if args.inventory else None
    documents, warnings = convert_cases(args.testcase, args.pod, _task_args(args),
                                        inventory=native,
                                        literal_commands=args.literal_commands)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.output:
        sys.stdout.write("---\n".join(text for _name, text in documents))
        return ExitCode.PASS
    out = Path(args.output)
    if len(documents) == 1:
        targets = [(out, documents[0][1])]
    else:  # one native scenario per file: name them after the scenarios
        targets = [(out.with_name(f"{out.stem}-{i}{out.suffix or '.yaml'}"), text)
                   for i, (_name, text) in enumerate(documents, 1)]
    for path, text in targets:
        path.write_text(text)
        print(f"wrote {path}", file=sys.stderr)
    return ExitCode.PASS


def _common(parser) -> None:
    parser.add_argument("--pod", help="Yardstick pod.yaml (default: the task's context file)")
    parser.add_argument("--task-args", help="task arguments as YAML/JSON, e.g. "
                        "'{\"attack_host\": \"node2\"}'")
    parser.add_argument("--task-args-file", help="a YAML file of task arguments "
                        "(--task-args override it)")
    parser.add_argument("-i", "--inventory", help="a native inventory lending the pod its "
                        "services map, VIPs, cloud and SSH defaults")
    parser.add_argument("--literal-commands", action="store_true",
                        help="run openstack-cmd monitors through the openstack CLI, as "
                        "Yardstick does (default: the same API request, timed to the "
                        "millisecond)")


def register(subparsers) -> None:
    """Add ``yardstick run`` and ``yardstick convert`` to the ha-tests command."""
    yardstick = subparsers.add_parser(
        "yardstick", help="run or convert OPNFV Yardstick HA test cases (ServiceHA, GeneralHA)")
    sub = yardstick.add_subparsers(dest="yardstick_command", metavar="ACTION")
    sub.required = True

    run = sub.add_parser("run", help="run Yardstick test case files unchanged")
    run.add_argument("testcases", nargs="+", metavar="TC.yaml")
    _common(run)
    run.add_argument("--known-hosts", help="known_hosts for the pod's nodes (host keys are "
                     "verified; Yardstick did not)")
    run.add_argument("-r", "--results", help="results directory (default: ./results)")
    run.add_argument("-o", "--output", help="Yardstick output record (default: "
                     "RESULTS/yardstick.out)")
    run.add_argument("--seed", type=int)
    run.add_argument("--junit", help="also write JUnit XML")
    run.add_argument("-q", "--quiet", action="store_true")
    run.add_argument("--dry-run", action="store_true",
                     help="show what would be attacked, where and in what order; touch nothing")
    run.add_argument("--i-know-this-is-destructive", dest="i_know", action="store_true",
                     help="attack the pod's nodes (a pod.yaml cannot say it is a test target)")
    run.set_defaults(func=cmd_run)

    convert = sub.add_parser("convert", help="write the equivalent native scenario YAML")
    convert.add_argument("testcase", metavar="TC.yaml")
    _common(convert)
    convert.add_argument("-o", "--output", help="file to write (default: standard output)")
    convert.set_defaults(func=cmd_convert)
