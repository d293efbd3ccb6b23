"""Fan-out: time to inject a fault on N nodes at once and roll it back, N = 1, 5, 20, 50.

Needs a lab with at least max(N) computes (brought up here with ``--computes``). The fault is
a real ``partition`` of one port on every chosen compute (iptables rules and a dead-man timer
per node over each node's persistent SSH connection), and a real IPMI power-off/power-on
cycle without the boot wait (BMC calls only). SSH connections are opened before the clock
starts (the runner opens them in preflight too); the cold-connection cost is reported apart.

    sudo .venv/bin/python -m benchmarks.fanout [--sizes 1,5,20,50]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import sys
import time

from benchmarks.common import lab_up
from ha_tests.attackers.partition import Partition, PartitionParams
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def partition_cycle(ctx, nodes) -> tuple[float, float]:
    attacker = Partition("fanout", PartitionParams(port=9, duration=120), nodes, ctx)
    attacker.preflight()
    inject = timed(attacker.inject)
    rollback = timed(lambda: (attacker.rollback(), attacker.verify()))
    return inject, rollback


def connect_all(ctx, nodes) -> float:
    """Open (or check) every node's persistent SSH connection, in parallel."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        return timed(lambda: list(pool.map(lambda n: ctx.shell(n).run(["true"], timeout=30)
                                           .check(), nodes)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,5,20,50")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--lab-name", default="hfan")
    parser.add_argument("--cidr", default="10.188.0.0/16")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    args.computes = max(sizes)
    rows = []
    with lab_up(args) as lab:
        inventory = load_inventory(lab.inventory_path)
        computes = [n for n in inventory.nodes if "compute" in n.roles]
        for size in sizes:
            nodes = computes[:size]
            ctx = RunContext(inventory)
            try:
                cold = connect_all(ctx, nodes)
                cycles = [partition_cycle(ctx, nodes) for _ in range(args.reps)]
            finally:
                ctx.close()
            row = {"n": size, "cold_connect": cold,
                   "inject": statistics.median(c[0] for c in cycles),
                   "rollback": statistics.median(c[1] for c in cycles)}
            rows.append(row)
            print(f"N={size}: connect {cold:.2f}s inject {row['inject']:.2f}s rollback "
                  f"{row['rollback']:.2f}s", file=sys.stderr)
    print(f"load: {os.getloadavg()}  (medians of {args.reps} cycles)")
    print(f"{'N':>4} {'cold SSH connect':>17} {'inject':>8} {'rollback':>9} {'total':>7} "
          f"{'per node':>9}")
    for r in rows:
        total = r["inject"] + r["rollback"]
        print(f"{r['n']:>4} {r['cold_connect']:>16.2f}s {r['inject']:>7.2f}s "
              f"{r['rollback']:>8.2f}s {total:>6.2f}s {total / r['n']:>8.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
