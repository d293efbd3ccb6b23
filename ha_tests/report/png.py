"""PNG timelines for tickets and chat, written beside the results they show.

Rendering goes through kaleido, which drives a headless Chromium (Debian's ``chromium``
package): one browser for the whole batch, since starting it costs seconds. Without a browser
there are no PNGs, and the caller is told why; the HTML report never depends on them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ha_tests.report.page import timeline_figures
from ha_tests.report.records import RunRecord

log = logging.getLogger(__name__)


class PngUnavailable(RuntimeError):
    """No PNG could be made (no kaleido, no Chromium); the message says what to install."""


def png_path(record: RunRecord, index: int) -> Path:
    return record.directory / f"timeline-{index}.png"


def export_pngs(records: list[RunRecord], width: int = 1100) -> list[Path]:
    """Write ``timeline-<iteration>.png`` into each scenario's results directory."""
    try:
        import kaleido  # noqa: F401
        import plotly.io as pio
    except ImportError as exc:
        raise PngUnavailable(f"PNG export needs kaleido ({exc}); pip install kaleido") from None
    figures, paths = [], []
    for record in records:
        for _div, figure, index in timeline_figures(record):
            figures.append(figure)
            paths.append(png_path(record, index))
    if not figures:
        return []
    try:
        pio.write_images(figures, paths, format="png", width=width,
                         height=[f.layout.height for f in figures])
    except Exception as exc:  # kaleido reports a missing browser in several ways
        raise PngUnavailable(f"PNG export failed: {exc}. It needs Chromium "
                             "(apt install chromium) or kaleido's own Chrome "
                             "(kaleido.get_chrome_sync())") from None
    return paths
