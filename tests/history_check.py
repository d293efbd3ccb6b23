"""The session's closing check: every run the tests made is rebuilt from its history alone.

Each scenario results directory under the session's temporary tree (lab runs through every
door, local runs) is analysed again from its events.jsonl and compared with the summary.json
the run wrote, field for field. No new run is made: this costs a read of each history.
"""

from __future__ import annotations

import json
from pathlib import Path

from ha_tests.analysis import summarize
from ha_tests.events import read_events
from ha_tests.masking import mask


def finished_runs(root: Path) -> list[Path]:
    """Results directories of runs that reached their end (a killed runner wrote no end)."""
    found = []
    for summary in sorted(root.rglob("summary.json")):
        events = summary.parent / "events.jsonl"
        if events.is_file() and any(e.get("kind") == "run-end" for e in read_events(events)):
            found.append(summary.parent)
    return found


def differences(result_dir: Path) -> list[str]:
    """Where summary.json and the summary its history gives disagree (none: they agree)."""
    # the session's masker knows every secret any test taught it since the run was written
    # (a test password like "nothing" blanks the word in later text): mask both alike
    written = mask(json.loads((result_dir / "summary.json").read_text()))
    rebuilt = mask(summarize(read_events(result_dir / "events.jsonl")).to_json())
    return [f"{key}: written {written.get(key)!r:.200} != rebuilt {rebuilt.get(key)!r:.200}"
            for key in sorted(set(written) | set(rebuilt))
            if written.get(key) != rebuilt.get(key)]
