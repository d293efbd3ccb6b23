"""Fan-out: inject a fault on N nodes at once and roll it back, and how far apart in time
the nodes got it (injection skew), N = 1 ... 200.

Nodes are light nodes by default (benchmarks/light_nodes.py: a network and a PID namespace
and a real sshd each; ``--nodes lab`` uses a lab's computes instead, at most 70). Each
attacker is the real one: ``partition`` of one port (iptables rules and a dead-man timer per
node), ``block-nic`` of a spare veth link, ``freeze-process`` of one process per node and a
1 MiB ``memory-hog``, each over the node's persistent SSH connection, opened before the clock
starts (the runner opens them in preflight too; the cold-connection cost is reported apart).
Skew is the spread of the nodes' moments of fault, each read on the node's own clock by the
command that injected it (``Attacker.injection_timing``).

    sudo .venv/bin/python -m benchmarks.fanout [--sizes 1,5,20,50,100,200] [--reps 5]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import statistics
import sys
import time

from benchmarks.common import lab_up
from benchmarks.light_nodes import LightNodes
from ha_tests.attackers.block_nic import BlockNic, BlockNicParams
from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams
from ha_tests.attackers.hogs import MemoryHog, MemoryHogParams
from ha_tests.attackers.partition import Partition, PartitionParams
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory

#: the process freeze-process stops on each node (started there by the benchmark)
VICTIM = "sleep 1000007"
ATTACKERS = {
    "partition": lambda nodes, ctx: Partition("fanout", PartitionParams(port=9, duration=120),
                                              nodes, ctx),
    "block-nic": lambda nodes, ctx: BlockNic("fanout", BlockNicParams(interface="spare",
                                                                      duration=120),
                                             nodes, ctx),
    "freeze": lambda nodes, ctx: FreezeProcess(
        "fanout", FreezeProcessParams(process=f"^{VICTIM}$", duration=120), nodes, ctx),
    "memory-hog": lambda nodes, ctx: MemoryHog("fanout", MemoryHogParams(mib=1, duration=120),
                                               nodes, ctx),
}


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def cycle(make, ctx, nodes) -> tuple[float, float, float | None] | str:
    """(inject s, rollback + verify s, skew s), or what failed (healed, then counted)."""
    attacker = make(nodes, ctx)
    try:
        attacker.preflight()
        attacker.fault_at.clear()
        inject = timed(attacker.inject)
        skew = attacker.injection_timing().get("skew_s")
        rollback = timed(lambda: (attacker.rollback(), attacker.verify()))
    except Exception as exc:  # noqa: BLE001 - reported in the table, the fault healed
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        try:
            attacker.heal()
        except Exception as again:  # noqa: BLE001
            why += f"; heal: {again}"
        return why
    return inject, rollback, skew


def each(nodes, work) -> list:
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(work, nodes))


def connect_all(ctx, nodes) -> float:
    """Open every node's persistent SSH connection (in parallel), and start its victim."""
    start = f"pgrep -fx '{VICTIM}' >/dev/null || setsid {VICTIM} </dev/null >/dev/null 2>&1 &"
    return timed(lambda: each(nodes, lambda n: ctx.shell(n).run(["sh", "-c", start],
                                                                 timeout=60).check()))


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


@contextlib.contextmanager
def nodes_up(args):
    if args.nodes == "lab":
        args.computes = max(args.sizes)
        with lab_up(args) as lab:
            inventory = load_inventory(lab.inventory_path)
            yield [n for n in inventory.nodes if "compute" in n.roles], inventory, None
        return
    light = LightNodes(max(args.sizes), cidr=args.cidr)
    started = time.monotonic()
    light.up()
    print(f"{max(args.sizes)} light nodes up in {time.monotonic() - started:.1f} s",
          file=sys.stderr)
    try:
        inventory = load_inventory(light.inventory_path)
        yield list(inventory.nodes), inventory, light
    finally:
        light.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,5,20,50,100,200")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--attackers", default=",".join(ATTACKERS))
    parser.add_argument("--nodes", choices=["light", "lab"], default="light")
    parser.add_argument("--lab-name", default="hfan")
    parser.add_argument("--cidr", default="10.164.0.0/16")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    rows, cost = [], None
    with nodes_up(args) as (all_nodes, inventory, light):
        ctx = RunContext(inventory)
        try:
            for size in args.sizes:
                nodes = all_nodes[:size]
                cold = connect_all(ctx, nodes)
                for kind in args.attackers.split(","):
                    outcomes = [cycle(ATTACKERS[kind], ctx, nodes) for _ in range(args.reps)]
                    failed = [o for o in outcomes if isinstance(o, str)]
                    cycles = [o for o in outcomes if not isinstance(o, str)]
                    for why in failed:
                        print(f"{kind} N={size}: failed: {why}", file=sys.stderr)
                    if not cycles:
                        continue
                    skews = [c[2] for c in cycles if c[2] is not None]
                    row = {"kind": kind, "n": size, "cold": cold, "failed": len(failed),
                           "inject": statistics.median(c[0] for c in cycles),
                           "rollback": statistics.median(c[1] for c in cycles),
                           "skew50": statistics.median(skews) if skews else None,
                           "skew99": percentile(skews, 0.99) if skews else None}
                    rows.append(row)
                    print(f"{kind} N={size}: inject {row['inject']:.2f}s rollback "
                          f"{row['rollback']:.2f}s skew {row['skew50']}", file=sys.stderr)
            if light is not None:
                cost = light.cost()
        finally:
            ctx.close()
    print(f"load: {os.getloadavg()}  cpus: {os.cpu_count()}  (medians of {args.reps} cycles;"
          f" skew: p50 / max-of-reps as p99)")
    if cost:
        print(f"light nodes: {cost['processes']} processes, "
              f"{cost['rss_kib_per_node'] / 1024:.1f} MiB RSS a node with its connection")
    print(f"{'attacker':<11}{'N':>4} {'cold SSH':>9} {'inject':>8} {'rollback':>9} "
          f"{'total':>7} {'skew p50':>9} {'skew p99':>9} {'failed':>6}")
    for r in rows:
        skew = (f"{r['skew50'] * 1000:>7.1f}ms {r['skew99'] * 1000:>7.1f}ms"
                if r["skew50"] is not None else f"{'-':>9} {'-':>9}")
        print(f"{r['kind']:<11}{r['n']:>4} {r['cold']:>8.2f}s {r['inject']:>7.2f}s "
              f"{r['rollback']:>8.2f}s {r['inject'] + r['rollback']:>6.2f}s {skew} "
              f"{r['failed']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
