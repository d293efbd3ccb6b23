"""Sampling capacity: how many probes per second one runner sustains, and how late they start.

Each workload runs real monitors in real SamplingLoops (the engine's scheduler) for a fixed
time and reports completed probes per second, the schedule jitter of probe starts (how late
each started after its tick, p50/p99/max), missed ticks, and the runner's memory per loop.

* tcp: N loops of TCP connects to a listener on 127.0.0.1 (the scheduler's own ceiling);
* icmp: one vm-ping monitor over 250 targets (127.0.0.1-250, all answering on loopback):
  one probe per target per tick, over one socket, not a process per ping;
* ssh: process monitors over the persistent SSH connections to the lab's five nodes;
* api: identity (token issue) monitors through the lab's VIP.

    sudo .venv/bin/python -m benchmarks.capacity [--seconds 20] [--lab-name hbench]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time

from benchmarks.common import add_lab_options, lab_up
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory
from ha_tests.metrics import percentile
from ha_tests.sampling import SamplingLoop


def rss_kib() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def jitter(samples, interval: float) -> list[float]:
    """Lateness of each probe's start after its tick (ticks at first start + k * interval)."""
    if not samples:
        return []
    origin = samples[0].start
    late = []
    for sample in samples:
        k = round((sample.start - origin) / interval)
        late.append(max(0.0, sample.start - (origin + k * interval)))
    return late


def run_loops(monitors, interval: float, seconds: float, per_tick: int = 1) -> dict:
    before = rss_kib()
    loops = [SamplingLoop(m, interval, None, max_in_flight=8) for m in monitors]
    started = time.monotonic()
    for loop in loops:
        loop.start()
    time.sleep(seconds)
    for loop in loops:
        loop.stop(drain=True)
    elapsed = time.monotonic() - started
    late = sorted(x for loop in loops for x in jitter(loop.snapshot(), interval))
    count = sum(len(loop.snapshot()) for loop in loops)
    failed = sum(1 for loop in loops for s in loop.snapshot() if not s.ok)
    return {"loops": len(loops), "interval": interval, "probes_per_s": count * per_tick / elapsed,
            "failed": failed, "missed_ticks": sum(loop.missed for loop in loops),
            "jitter_p50_ms": 1000 * percentile(late, 0.5) if late else 0,
            "jitter_p99_ms": 1000 * percentile(late, 0.99) if late else 0,
            "jitter_max_ms": 1000 * max(late, default=0),
            "rss_per_loop_kib": (rss_kib() - before) / max(1, len(loops))}


def listener() -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4096)

    def accept():
        while True:
            conn, _ = server.accept()
            conn.close()
    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    add_lab_options(parser)
    args = parser.parse_args(argv)
    rows = []
    with lab_up(args) as lab:
        measure_all(lab, args.seconds, rows)
    print_rows(rows)
    return 0


def measure_all(lab, seconds: float, rows: list) -> None:
    from ha_tests.monitors.api import ApiMonitor, ApiParams
    from ha_tests.monitors.network import TcpMonitor, TcpParams
    from ha_tests.monitors.process import ProcessMonitor
    from ha_tests.monitors.vm_ping import VmPingMonitor, VmPingParams

    ctx = RunContext(load_inventory(lab.inventory_path))
    try:
        port = listener()
        for loops, interval in ((10, 0.01), (20, 0.01), (40, 0.02)):
            monitors = [TcpMonitor(f"tcp{i}", TcpParams(host="127.0.0.1", port=port), [], ctx,
                                   timeout=1.0) for i in range(loops)]
            for monitor in monitors:
                monitor.setup()
            rows.append(("tcp", run_loops(monitors, interval, seconds)))
        targets = [f"127.0.0.{i}" for i in range(1, 251)]
        ping = VmPingMonitor("icmp", VmPingParams(targets=targets), [], ctx, timeout=0.5)
        ping.setup()
        rows.append(("icmp x250", run_loops([ping], 0.1, seconds, per_tick=len(targets))))
        procs = []
        for node in ctx.inventory.nodes:
            params = ProcessMonitor.Params(process="sshd")
            monitor = ProcessMonitor(f"ssh-{node.name}", params, [node], ctx, timeout=2.0)
            monitor.setup()
            procs.append(monitor)
        rows.append(("ssh process x5", run_loops(procs, 0.05, seconds)))
        apis = []
        for i in range(4):
            monitor = ApiMonitor(f"api{i}", ApiParams(service="identity"), [], ctx, timeout=3.0)
            monitor.setup()
            apis.append(monitor)
        rows.append(("api token x4", run_loops(apis, 0.05, seconds)))
    finally:
        ctx.close()


def print_rows(rows: list) -> None:
    print(f"load: {os.getloadavg()}  cpus: {os.cpu_count()}")
    print(f"{'workload':<16} {'loops':>5} {'interval':>8} {'probes/s':>9} {'failed':>6} "
          f"{'missed':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'KiB/loop':>8}")
    for name, r in rows:
        print(f"{name:<16} {r['loops']:>5} {r['interval']:>8g} {r['probes_per_s']:>9.0f} "
              f"{r['failed']:>6} {r['missed_ticks']:>6} {r['jitter_p50_ms']:>7.2f} "
              f"{r['jitter_p99_ms']:>7.2f} {r['jitter_max_ms']:>7.1f} "
              f"{r['rss_per_loop_kib']:>8.0f}")


if __name__ == "__main__":
    sys.exit(main())
