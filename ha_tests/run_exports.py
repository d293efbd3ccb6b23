"""What a run command hands to operators' systems besides its own files: this run against the
last N, a textfile for node_exporter, a push to a Pushgateway, a live /metrics endpoint.

The run commands stay as they are: :func:`exported` wraps one, watches the results tree
for the scenario directories it writes, and afterwards reads only their summary.json. An
export that fails is said loudly but never changes the run's verdict or exit code.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

DEFAULT_LAST = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Prometheus and history (docs/prometheus.rst)")
    group.add_argument("--textfile", metavar="PATH",
                       help="write the run's series to PATH (a *.prom file in node_exporter's "
                            "textfile collector directory)")
    group.add_argument("--push", metavar="URL",
                       help="push the run's series to this Pushgateway (job 'ha-tests', "
                            "grouped by inventory)")
    group.add_argument("--metrics-port", metavar="[HOST:]PORT",
                       help="serve /metrics while the run is in progress (host default "
                            "127.0.0.1)")
    group.add_argument("--last", type=int, default=DEFAULT_LAST, metavar="N",
                       help="compare each scenario's recovery with its last N runs in the "
                            f"results directory (default {DEFAULT_LAST}; 0: no comparison)")


def _results_root(args) -> Path:
    from ha_tests.session import default_results_dir

    return Path(args.results) if getattr(args, "results", None) else default_results_dir()


def _result_dirs(root: Path) -> set[Path]:
    if not root.is_dir():
        return set()
    return {p.parent.resolve() for pattern in ("*/summary.json", "*/*/summary.json")
            for p in root.glob(pattern)}


def exported(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace],
                                                                       int]:
    """``command`` with the exports its arguments ask for."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        if getattr(args, "dry_run", False):
            return command(args)
        root = _results_root(args)
        before = _result_dirs(root)
        endpoint = _start_endpoint(args, root)
        try:
            code = command(args)
        finally:
            if endpoint is not None:
                endpoint.close()
        export(args, root, sorted(_result_dirs(root) - before), sorted(before))
        return code
    return run


def _start_endpoint(args, root: Path):
    if not getattr(args, "metrics_port", None):
        return None
    from ha_tests.errors import InputError, Problem
    from ha_tests.report.live import LiveEndpoint, parse_address

    try:
        host, port = parse_address(args.metrics_port)
        endpoint = LiveEndpoint(root, host, port)
    except (ValueError, OSError) as exc:
        raise InputError(Problem("--metrics-port", None, None, "", f"cannot serve /metrics on "
                                 f"'{args.metrics_port}': {exc}",
                                 "give a free port, e.g. --metrics-port 9464 or "
                                 "--metrics-port 0.0.0.0:9464")) from None
    print(f"metrics: http://{endpoint.address}:{endpoint.port}/metrics", file=sys.stderr)
    return endpoint


def _summary_only(directory: Path):
    """A run read for its figures alone (its events are not needed to compare or export)."""
    from ha_tests.report.records import RunRecord
    from ha_tests.results import load_summary

    return RunRecord(directory, load_summary(directory), [])


def report_trends(paths: list[Path], history: Path, last: int) -> str:
    """``ha-tests report --history DIR``: each run named by ``paths`` against its last
    ``last`` runs in ``history``."""
    from ha_tests.report.history import against_last, format_trends
    from ha_tests.report.records import find_result_dirs

    current = [_summary_only(d) for d in find_result_dirs(paths)]
    earlier = [_summary_only(d) for d in find_result_dirs([history])]
    return format_trends([against_last(run, earlier, last) for run in current], last)


def export(args, root: Path, new_dirs: list[Path], earlier_dirs: list[Path]) -> None:
    """Trends on stdout, then the textfile and the push, from the new runs' summaries."""
    from ha_tests.report.history import against_last, format_trends

    if not new_dirs:
        return
    try:
        current = [_summary_only(d) for d in new_dirs]
        last = getattr(args, "last", DEFAULT_LAST) or 0
        trends = []
        if last > 0:
            history = [_summary_only(d) for d in earlier_dirs]
            trends = [against_last(run, history, last) for run in current]
            print(format_trends(trends, last))
        textfile, url = getattr(args, "textfile", None), getattr(args, "push", None)
        if not (textfile or url):
            return
        from ha_tests.report.openmetrics import build_registry, public_url, push, write_textfile

        registry = build_registry([r.summary for r in current], trends)
        if textfile:
            Path(textfile).parent.mkdir(parents=True, exist_ok=True)
            write_textfile(textfile, registry)
            print(f"metrics textfile: {textfile}", file=sys.stderr)
        if url:
            inventory = current[0].summary.inventory or "unknown"
            push(url, registry, {"inventory": inventory})
            print(f"metrics pushed: {public_url(url)} (job ha-tests, inventory {inventory})",
                  file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - the run's results are on disk already
        from ha_tests.report.openmetrics import public_url

        detail = str(exc)
        url = getattr(args, "push", None)
        if url:
            detail = detail.replace(url, public_url(url))
        print(f"warning: the run's metrics could not be exported ({detail}); its results "
              f"are in {root}", file=sys.stderr)
