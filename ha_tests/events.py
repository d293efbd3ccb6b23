"""The run's history: every sample and event appended to events.jsonl as it happens.

Like Jepsen's history, this file is the single source of truth: metrics, summaries and
reports are computed from it, never from the live run. Each line is flushed when written,
so a crash loses nothing already measured. Each event is masked as an object
(ha_tests.masking) before it becomes JSON, so no escaping can hide a secret.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ha_tests.masking import MASKER


class EventLog:
    def __init__(self, path: Path, secrets: list[str] | None = None):
        """``secrets``: more for the program's one masker (it already knows the inventory's)."""
        self.path = path
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._seq = 0
        MASKER.add(*(secrets or []))

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one event; ``mono`` is the monotonic clock, ``wall`` the Unix time."""
        with self._lock:
            self._seq += 1
            event = {"seq": self._seq, "kind": kind, "mono": fields.pop("mono", time.monotonic()),
                     "wall": time.time(), **fields}
            if self._file.closed:  # a probe thread answering after an interrupted run closed
                return event      # the log: nothing left to record it in
            line = json.dumps(MASKER.mask(event), default=str, sort_keys=False)
            self._file.write(line + "\n")
            self._file.flush()
            return event

    def sync(self) -> None:
        """Force to disk at phase boundaries (survives the runner host losing power)."""
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    """Events of a run, skipping a torn last line left by a crash."""
    events = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events
