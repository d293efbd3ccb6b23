"""Accuracy against ground truth: outages of known length, measured by ha-tests and by its
peers' methods side by side, in one run.

On a lab controller, a node-side timer puts an iptables REJECT on keystone's port for exactly
D seconds (0.2 ... 10 s) and records, with the node's clock (the host's), when the rule went
in and out: the truth, to within the few milliseconds an iptables call takes. Meanwhile:

* ha-tests' own TCP monitor samples the port at every interval from 20 ms to 2 s at once
  (one real SamplingLoop per interval), and ha-tests' own metrics turn each stream into an
  outage with bounds;
* a Yardstick-style checker runs a fresh ``openstack token issue`` process per check and
  takes "end of the last failed check - start of the first failed check" (metrics.
  yardstick_outage, the formula of Yardstick's monitors);
* a Tobiko-style pinger sends one ICMP echo a second and counts the lost ones: the outage is
  lost pings x 1 s (Tobiko's HA tests judge a disruption by ping loss);
* a krkn-style checker GETs keystone's URL every 2 s and keeps status periods: each
  downtime runs from the first failing check to the next passing one (krkn's health checks).

The outage REJECTs keystone's port and drops ICMP echo to the node, so every method sees the
same outage. Per interval it reports the error of the measured outage against the truth (mean,
max), whether the truth always lay inside the reported bounds and missed outages; per peer,
its error, its missed outages and the ratio of its mean error to ha-tests' at 50 ms. Figures
go to benchmarks/README.md.

    sudo .venv/bin/python -m benchmarks.accuracy [--reps 3] [--lab-name hbench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from benchmarks.common import add_lab_options, lab_up
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory
from ha_tests.lab import Lab
from ha_tests.metrics import Sample, compute_monitor_metrics, yardstick_outage
from ha_tests.monitors.network import TcpMonitor, TcpParams
from ha_tests.sampling import SamplingLoop
from ha_tests.transport import script

INTERVALS = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
LENGTHS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
PORT = 5000
#: the CLI installed beside this Python (the venv's), else the one on PATH
OPENSTACK = shutil.which("openstack", path=os.path.dirname(sys.executable)) or "openstack"

#: $1 id, $2 seconds, $3 port: REJECT the port for exactly $2 s, timestamps around each change
_OUTAGE = r"""
f="/tmp/.ha-tests-bench-$1"
(
  a=$(date +%s.%N)
  iptables -w 5 -I INPUT -p tcp --dport "$3" -m comment --comment "ha-tests:bench:$1" \
    -j REJECT --reject-with tcp-reset
  iptables -w 5 -I INPUT -p icmp --icmp-type echo-request \
    -m comment --comment "ha-tests:bench:$1" -j DROP
  b=$(date +%s.%N)
  sleep "$2"
  c=$(date +%s.%N)
  iptables -w 5 -D INPUT -p tcp --dport "$3" -m comment --comment "ha-tests:bench:$1" \
    -j REJECT --reject-with tcp-reset
  iptables -w 5 -D INPUT -p icmp --icmp-type echo-request \
    -m comment --comment "ha-tests:bench:$1" -j DROP
  d=$(date +%s.%N)
  echo "$a $b $c $d" > "$f"
) </dev/null >/dev/null 2>&1 &
exit 0
"""
_TRUTH = 'cat "/tmp/.ha-tests-bench-$1" 2>/dev/null && rm -f "/tmp/.ha-tests-bench-$1"\n'


class YardstickChecker(threading.Thread):
    """Yardstick's way: a fresh CLI process per check, back to back."""

    def __init__(self, env: dict[str, str]):
        super().__init__(daemon=True)
        self.env, self.samples, self.stop_flag = env, [], threading.Event()

    def run(self) -> None:
        while not self.stop_flag.is_set():
            start = time.monotonic()
            done = subprocess.run([OPENSTACK, "token", "issue", "-f", "value", "-c", "id"],
                                  env=self.env, capture_output=True, timeout=60)
            self.samples.append(Sample(start, time.monotonic(), done.returncode == 0))


class PeriodicChecker(threading.Thread):
    """A peer's checker: ``check()`` every ``period`` s on an absolute schedule."""

    period = 1.0

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[Sample] = []
        self.stop_flag = threading.Event()

    def check(self) -> bool:
        raise NotImplementedError

    def run(self) -> None:
        due = time.monotonic()
        while not self.stop_flag.is_set():
            start = time.monotonic()
            ok = self.check()
            self.samples.append(Sample(start, time.monotonic(), ok))
            due += self.period
            self.stop_flag.wait(max(0.0, due - time.monotonic()))


class TobikoPinger(PeriodicChecker):
    """Tobiko's way: one ICMP echo a second; the disruption is the pings lost x 1 s."""

    period = 1.0

    def __init__(self, host: str):
        super().__init__()
        self.host = host

    def check(self) -> bool:
        return subprocess.run(["ping", "-n", "-q", "-c", "1", "-W", "1", self.host],
                              capture_output=True, timeout=5).returncode == 0

    @staticmethod
    def outage(samples: list[Sample]) -> float:
        return sum(1 for s in samples if not s.ok) * TobikoPinger.period


class KrknChecker(PeriodicChecker):
    """krkn's way: an HTTP check every 2 s, status periods; a downtime lasts from the first
    failing check to the next passing one."""

    period = 2.0

    def __init__(self, url: str):
        super().__init__()
        self.url = url

    def check(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1.5) as answer:
                return answer.status < 500
        except (OSError, ValueError):
            return False

    @staticmethod
    def outage(samples: list[Sample]) -> float:
        total, down_since = 0.0, None
        for sample in samples:
            if not sample.ok and down_since is None:
                down_since = sample.start
            elif sample.ok and down_since is not None:
                total += sample.start - down_since
                down_since = None
        return total


def measure(reps: int, lab: Lab) -> list[dict]:
    inventory = load_inventory(lab.inventory_path)
    ctx = RunContext(inventory)
    victim = lab.plan.controllers[1]
    shell = ctx.shell(victim.name)
    loops = []
    for interval in INTERVALS:
        monitor = TcpMonitor(f"tcp-{interval}", TcpParams(host=victim.mgmt_ip, port=PORT), [],
                             ctx, timeout=max(0.5, min(2.0, interval * 2)))
        monitor.setup()
        loops.append(SamplingLoop(monitor, interval, None, max_in_flight=50))
    env = dict(os.environ, OS_AUTH_URL=f"http://{victim.mgmt_ip}:{PORT}/v3",
               OS_USERNAME="admin", OS_PASSWORD=lab.admin_password, OS_PROJECT_NAME="admin",
               OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
               OS_IDENTITY_API_VERSION="3")
    env.pop("OS_CLOUD", None)
    yardstick = YardstickChecker(env)
    peers = {"tobiko": TobikoPinger(victim.mgmt_ip),
             "krkn": KrknChecker(f"http://{victim.mgmt_ip}:{PORT}/v3")}
    for loop in loops:
        loop.start()
    yardstick.start()
    for peer in peers.values():
        peer.start()
    offset = time.time() - time.monotonic()  # node timestamps are wall clock
    results = []
    try:
        time.sleep(3)
        for rep in range(reps):
            for length in LENGTHS:
                ident = f"{os.getpid()}-{rep}-{length}"
                begin = time.monotonic()
                shell.run(script(_OUTAGE, ident, str(length), str(PORT)), timeout=10).check()
                time.sleep(length + 4.5)  # the outage, then the slowest sampler's catch-up
                out = shell.run(script(_TRUTH, ident), timeout=10).stdout.split()
                a, b, c, d = (float(x) - offset for x in out)
                window_end = time.monotonic()
                truth = {"lo": c - b, "hi": d - a, "value": (c + d) / 2 - (a + b) / 2}
                row = {"rep": rep, "length": length, "truth": truth, "by_interval": {}}
                for interval, loop in zip(INTERVALS, loops, strict=True):
                    samples = [s for s in loop.snapshot() if begin - 1.5 <= s.start
                               and s.end <= window_end]
                    metrics = compute_monitor_metrics(samples, t0=begin, window_end=window_end)
                    longest = metrics.longest_outage
                    row["by_interval"][interval] = None if longest is None else {
                        "value": longest.value, "lo": longest.lo, "hi": longest.hi,
                        "count": metrics.outage_count}
                ys = [s for s in yardstick.samples if begin - 1.5 <= s.start
                      and s.end <= window_end]
                row["yardstick"] = yardstick_outage(ys)
                for name, peer in peers.items():
                    window = [s for s in peer.samples if begin - 1.5 <= s.start
                              and s.end <= window_end]
                    row[name] = peer.outage(window)
                results.append(row)
                print(f"rep {rep} outage {length:5.1f} s: truth {truth['value']:.3f} s; "
                      + " ".join(f"{i:g}s→{(v or {}).get('value', 0):.3f}"
                                 for i, v in row["by_interval"].items())
                      + f"; yardstick {row['yardstick']:.3f}", file=sys.stderr)
    finally:
        yardstick.stop_flag.set()
        for peer in peers.values():
            peer.stop_flag.set()
        for loop in loops:
            loop.stop(drain=False)
        ctx.close()
    return results


def summarise(results: list[dict]) -> str:
    lines = ["interval  n   mean|err|  max|err|  truth in bounds  missed  "
             "yardstick mean|err|  ratio"]
    ys_errors = [abs(r["yardstick"] - r["truth"]["value"]) for r in results]
    ys_mean = statistics.mean(ys_errors)
    for interval in INTERVALS:
        errors, held, missed = [], 0, 0
        for row in results:
            got, truth = row["by_interval"][interval], row["truth"]
            if got is None:
                missed += 1
                continue
            errors.append(abs(got["value"] - truth["value"]))
            # the reported bounds must contain the true duration (known to within the
            # iptables call times: truth lo..hi)
            held += got["lo"] <= truth["hi"] and got["hi"] >= truth["lo"]
        mean = statistics.mean(errors) if errors else float("nan")
        lines.append(f"{interval:7.2f}s {len(results):3d}  {mean:8.3f}s  "
                     f"{max(errors, default=float('nan')):7.3f}s  "
                     f"{held:>6d}/{len(errors):<3d}        {missed:4d}   {ys_mean:12.3f}s"
                     f"      {ys_mean / mean if mean else float('inf'):6.1f}x")
    lines.append(f"yardstick-style: mean|err| {ys_mean:.3f} s, max|err| {max(ys_errors):.3f} s "
                 f"(a fresh 'openstack token issue' per check)")
    lines.append("")
    lines.append(peers_table(results))
    return "\n".join(lines)


PEERS = {"yardstick": "a CLI call per check, back to back",
         "tobiko": "ICMP ping every 1 s, loss counted",
         "krkn": "HTTP check every 2 s, downtime periods"}


def peers_table(results: list[dict]) -> str:
    """Each method on the same outages: error, missed outages, ratio to ha-tests at 50 ms
    (a missed outage counts as an error of the whole outage, for every method)."""
    def errors(get) -> tuple[list[float], int]:
        out, missed = [], 0
        for row in results:
            value = get(row)
            missed += not value
            out.append(abs((value or 0.0) - row["truth"]["value"]))
        return out, missed

    ours, ours_missed = errors(lambda r: (r["by_interval"].get(0.05) or {}).get("value"))
    base = statistics.mean(ours)
    lines = [f"{'method':<22}{'how':<40}{'mean|err|':>10}{'max|err|':>10}{'missed':>8}"
             f"{'ratio':>8}",
             f"{'ha-tests tcp 50 ms':<22}{'a TCP connect every 50 ms, bounds':<40}"
             f"{base:>9.3f}s{max(ours):>9.3f}s{ours_missed:>5}/{len(results):<2}{1.0:>7.1f}x"]
    for name, how in PEERS.items():
        errs, missed = errors(lambda r, n=name: r.get(n))
        mean = statistics.mean(errs)
        lines.append(f"{name + '-style':<22}{how:<40}{mean:>9.3f}s{max(errs):>9.3f}s"
                     f"{missed:>5}/{len(results):<2}{mean / base if base else float('inf'):>7.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    add_lab_options(parser)
    parser.add_argument("--json", default="accuracy.json")
    args = parser.parse_args(argv)
    with lab_up(args) as lab:
        results = measure(args.reps, lab)
    with open(args.json, "w") as handle:
        json.dump(results, handle, indent=1)
    print(f"load: {os.getloadavg()}")
    print(summarise(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
