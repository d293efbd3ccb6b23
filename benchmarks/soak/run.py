"""Soak: many scenario runs in a row against one lab, mixed faults; does anything leak?

One runner process runs ``--runs`` scenarios (cycling through kill, stop, freeze, NIC down,
partition, IPMI power-off and CPU hog on random controllers) against a lab it brings up, and
after every run records what could leak: the runner's own memory, file descriptors and
threads; the lab's processes, zombies, namespaces, memory, tagged firewall rules, netem
qdiscs and tagged (timer or hog) processes. It prints the first and last readings, the
growth per run of each, and writes every reading to a CSV.

    sudo .venv/bin/python -m benchmarks.soak.run --runs 50

Not a test: it takes minutes and its figures go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from ha_tests.inventory import load_inventory
from ha_tests.lab import Lab
from ha_tests.lab.network import lab_namespaces
from ha_tests.lab.system import cmdline, netns_pids
from ha_tests.progress import Progress
from ha_tests.runner import ScenarioRunner
from ha_tests.scenario import load_scenario

FAULTS = [
    "{type: kill-process, target: victim, service: keystone}",
    "{type: stop-service, target: victim, service: keystone}",
    "{type: freeze-process, target: victim, service: keystone}",
    "{type: block-nic, target: victim, interface: mgmt, duration: 3}",
    "{type: partition, target: victim, peer_role: controller, duration: 3}",
    "{type: power-off, target: victim}",
    "{type: cpu-hog, target: victim, workers: 1, duration: 3}",
]


def scenario_text(index: int) -> str:
    fault = FAULTS[index % len(FAULTS)]
    return textwrap.dedent(f"""\
        name: soak-{index:03d}
        description: soak run {index}
        gap: classic
        targets:
          victim: {{role: controller, pick: not-vip-holder}}
        attackers:
          - {fault}
        monitors:
          - {{type: api, name: identity-api, service: identity, interval: 0.25, timeout: 3,
             gate: false}}
          - {{type: process, name: victim-keystone, target: victim, service: keystone,
             interval: 0.5, timeout: 3, gate: false}}
        timing: {{baseline: 1, fault_duration: 3, observe: 3, recovery_timeout: 90}}
        """)


def status_kib(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def netns_out(netns: str, *argv: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True,
                          text=True, timeout=20).stdout


def reading(lab: Lab, run: int, seconds: float, status: str) -> dict:
    pids = [pid for ns in lab_namespaces(lab.plan) for pid in netns_pids(ns)]
    lab_rss = zombies = tagged = 0
    for pid in pids:
        try:
            lab_rss += status_kib(pid, "VmRSS")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            zombies += state == "Z"
            tagged += "ha-tests:" in cmdline(pid)
        except OSError:
            continue
    rules = qdiscs = 0
    for node in lab.plan.nodes:
        rules += netns_out(node.netns, "iptables-save").count("ha-tests")
        qdiscs += netns_out(node.netns, "tc", "qdisc", "show").count("netem")
    return {
        "run": run, "status": status, "seconds": round(seconds, 1),
        "runner_rss_kib": status_kib("self", "VmRSS"),
        "runner_fds": len(os.listdir("/proc/self/fd")),
        "runner_threads": status_kib("self", "Threads"),
        "lab_processes": len(pids), "lab_zombies": zombies, "lab_rss_kib": lab_rss,
        "namespaces": len(lab_namespaces(lab.plan)), "tagged_rules": rules,
        "netem_qdiscs": qdiscs, "tagged_processes": tagged,
    }


def settle(lab: Lab, limit: float = 120.0) -> float:
    """Wait (bounded) until the API answers through the VIP, as an operator would before the
    next drill; seconds waited. A partition can leave the VIP moving for a while after it."""
    from ha_tests.lab import keystone

    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            keystone.issue_token(lab.plan.auth_url, lab.admin_password, timeout=3)
            return time.monotonic() - started
        except OSError:
            time.sleep(0.5)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--lab-name", default="hsoak")
    parser.add_argument("--cidr", default="10.189.0.0/16")
    parser.add_argument("--csv", default="soak.csv")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the soak needs root (it brings a lab up)", file=sys.stderr)
        return 2
    lab = Lab(args.lab_name, args.cidr)
    lab.up(progress=lambda text: print(f"lab up: {text}", file=sys.stderr))
    rows = []
    try:
        inventory = load_inventory(lab.inventory_path)
        work = Path(tempfile.mkdtemp(prefix="ha-tests-soak-"))
        os.environ.setdefault("HA_TESTS_STATE_DIR", str(work / "state"))
        rows.append({**reading(lab, 0, 0.0, "start"), "settle_seconds": 0.0})
        for index in range(1, args.runs + 1):
            path = work / f"soak-{index:03d}.yaml"
            path.write_text(scenario_text(index))
            settled = settle(lab)
            started = time.monotonic()
            outcome = ScenarioRunner(load_scenario(path), inventory, work / "results",
                                     progress=Progress(quiet=True)).run()
            row = reading(lab, index, time.monotonic() - started, outcome.status)
            row["settle_seconds"] = round(settled, 1)
            rows.append(row)
            print(f"run {index:3d}/{args.runs} {FAULTS[index % len(FAULTS)][:34]:<34} "
                  f"{outcome.status:<8} {row['seconds']:5.1f}s (settled {settled:4.1f}s) "
                  f"rss {row['runner_rss_kib']} KiB "
                  f"fds {row['runner_fds']} lab procs {row['lab_processes']} "
                  f"left: rules {row['tagged_rules']} tagged {row['tagged_processes']}",
                  file=sys.stderr)
    finally:
        lab.down()
    with open(args.csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    first, last = rows[1] if len(rows) > 1 else rows[0], rows[-1]
    runs = max(1, len(rows) - 2)
    print(f"\n{len(rows) - 1} runs; statuses: "
          + ", ".join(f"{s}={sum(r['status'] == s for r in rows[1:])}"
                      for s in sorted({r['status'] for r in rows[1:]})))
    for key in ("runner_rss_kib", "runner_fds", "runner_threads", "lab_processes",
                "lab_zombies", "lab_rss_kib", "namespaces", "tagged_rules", "netem_qdiscs",
                "tagged_processes"):
        print(f"{key:<18} after run 1: {first[key]:>8}  after run {last['run']}: "
              f"{last[key]:>8}  growth/run: {(last[key] - first[key]) / runs:+.2f}")
    print(f"readings: {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
