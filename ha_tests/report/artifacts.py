"""A scenario's report and PNG timelines, for the test-framework doors (pytest, Tempest).

CI systems show attachments of a JUnit test case when the case names their paths: the JUnit
Attachments convention is a ``[[ATTACHMENT|/path]]`` line in the case's output (and an
``attachment`` property). The doors call :func:`scenario_artifacts` after each scenario and
attach what it returns; making them never changes the scenario's verdict.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def scenario_artifacts(result_dir: Path, png: bool = True) -> list[Path]:
    """Write report.html (and timeline-<n>.png) into ``result_dir``; the paths written."""
    from ha_tests.report.page import build_report
    from ha_tests.report.png import PngUnavailable, export_pngs
    from ha_tests.report.records import load_run

    result_dir = Path(result_dir)
    if not (result_dir / "summary.json").is_file():
        return []
    written: list[Path] = []
    try:
        written.append(build_report([result_dir], result_dir / "report.html"))
        if png:
            written += export_pngs([load_run(result_dir)])
    except PngUnavailable as exc:
        log.warning("no PNG timelines for %s: %s", result_dir, exc)
    except Exception:  # noqa: BLE001 - results are on disk; a report is a convenience
        log.exception("could not write the report of %s", result_dir)
    return written


def attachment_lines(paths: list[Path]) -> str:
    return "\n".join(f"[[ATTACHMENT|{Path(p).resolve()}]]" for p in paths)
