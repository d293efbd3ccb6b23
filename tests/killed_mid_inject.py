"""Kill a runner while its inject is under way: shared by the local and the lab tests of the
fault matrix's "kill -9 during inject" column."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ha_tests.events import read_events


def kill_during_inject(proc: subprocess.Popen, results: Path, moment: Callable[[], bool],
                       timeout: float) -> None:
    """SIGSTOP at the moment, prove inject had not returned, then SIGKILL: the runner dies
    with a step of inject under way (or just about to start)."""
    deadline = time.monotonic() + timeout
    while not moment():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before inject was under way: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("inject never got under way")
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGSTOP)
    events = [e for log in results.glob("*/events.jsonl") for e in read_events(log)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    actions = [e.get("action") for e in events if e["kind"] == "attack"]
    assert "inject-start" in actions and "injected" not in actions, actions
