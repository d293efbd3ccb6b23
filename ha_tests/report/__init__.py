"""Reports built from results directories alone: one HTML page, PNG timelines, history.

Data flows one way (runner -> events.jsonl/summary.json -> report): nothing here reaches back
into a run, so a report can be rebuilt, compared or archived long after the cloud is gone.
"""

from ha_tests.report.page import build_report

__all__ = ["build_report"]
