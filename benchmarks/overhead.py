"""Overhead: wall time of a whole ``ha-tests run`` minus the time its scenario asks for.

A scenario asks for its baseline, then max(fault hold, observation) from the injection (the
observation window counts from the injection); everything else is the runner's own cost.
Each case runs ``--reps`` times as a real subprocess against the lab, and the events split
the overhead into: start-up (Python, imports, reading files: process start to the
run-start event), preparation (targets, preflight, steady-state probes: run-start to the
baseline), the attack's inject/rollback beyond the hold, wind-down (final heal, summary:
iteration end to run-end), and finishing (JUnit, CSV, HTML report: run-end to exit).

    sudo .venv/bin/python -m benchmarks.overhead [--reps 5] [--lab-name hbench]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.common import add_lab_options, lab_up
from ha_tests.events import read_events
from ha_tests.lab import Lab

CASES = {
    "monitor only": "",
    "kill-process keystone": "attackers:\n  - {type: kill-process, target: victim, "
                             "service: keystone}\n",
    "block-nic 2 s": "attackers:\n  - {type: block-nic, target: victim, interface: mgmt, "
                     "duration: 2}\n",
}
BASELINE, HOLD, OBSERVE = 2.0, 2.0, 3.0


def scenario(body: str) -> str:
    hold = HOLD if body else 0.0
    return textwrap.dedent(f"""\
        name: overhead
        description: overhead measurement
        gap: classic
        targets:
          victim: {{role: controller, pick: not-vip-holder}}
        monitors:
          - {{type: api, name: identity-api, service: identity, interval: 0.5, timeout: 3,
             gate: false}}
        timing: {{baseline: {BASELINE}, fault_duration: {hold}, observe: {OBSERVE},
                  recovery_timeout: 30, recovered_after: 1}}
        """) + body, BASELINE + max(hold, OBSERVE)  # observation counts from the injection


def one(lab: Lab, work: Path, body: str) -> dict:
    text, asked = scenario(body)
    path = work / "overhead.yaml"
    path.write_text(text)
    results = work / f"r{time.monotonic_ns()}"
    start_wall = time.time()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "ha_tests.cli", "run", "-q", "-i",
                           str(lab.inventory_path), "-r", str(results), str(path)],
                          capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - started
    end_wall = start_wall + wall
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    [log] = results.glob("*/events.jsonl")
    events = read_events(log)
    first = lambda pred: next(e for e in events if pred(e))  # noqa: E731
    run_start = first(lambda e: e["kind"] == "run-start")["wall"]
    baseline = first(lambda e: e.get("phase") == "baseline")["wall"]
    inject = first(lambda e: e.get("phase") == "inject")["wall"]
    it_end = first(lambda e: e.get("phase") == "iteration-end")["wall"]
    run_end = first(lambda e: e["kind"] == "run-end")["wall"]
    return {"wall": wall, "asked": asked, "overhead": wall - asked,
            "startup": run_start - start_wall, "prepare": baseline - run_start,
            "fault_and_observe_extra": (it_end - inject) - (asked - BASELINE),  # rollback etc.
            "wind_down": run_end - it_end, "finish": end_wall - run_end,
            "baseline_extra": (inject - baseline) - BASELINE}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    add_lab_options(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("HA_TESTS_STATE_DIR", tempfile.mkdtemp(prefix="ha-tests-ovh-"))
    table = []
    with lab_up(args) as lab:
        work = Path(tempfile.mkdtemp(prefix="ha-tests-overhead-"))
        for name, body in CASES.items():
            runs = [one(lab, work, body) for _ in range(args.reps)]
            table.append((name, runs))
            print(f"{name}: overhead " + ", ".join(f"{r['overhead']:.2f}" for r in runs),
                  file=sys.stderr)
    keys = ("wall", "asked", "overhead", "startup", "prepare", "baseline_extra",
            "fault_and_observe_extra", "wind_down", "finish")
    print(f"load: {os.getloadavg()}  (medians of {args.reps} runs, seconds)")
    print(f"{'case':<24}" + "".join(f"{k[:13]:>14}" for k in keys))
    for name, runs in table:
        print(f"{name:<24}" + "".join(f"{statistics.median(r[k] for r in runs):>14.2f}"
                                      for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main())
