"""The full profile's cost: how long ``lab up --profile full`` takes and where the time goes,
and how much memory the lab holds and in which services. Brings up its own full lab (unless
one of that name is up), reads it, takes it down.

    .venv/bin/python -m benchmarks.full_lab [--lab-name hbfull] [--cidr 10.193.0.0/16]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time

from ha_tests.lab import Lab
from ha_tests.lab.system import cmdline, pss_kib, rss_kib

SERVICES = re.compile(
    r"(keystone|nova-api|nova-conductor|nova-scheduler|nova-compute|placement-api|cinder-api"
    r"|cinder-scheduler|cinder-volume|network-api|glance-api|beam|mariadbd|haproxy|keepalived"
    r"|sshd|vbmc|hypervisor|nodeinit|guest-)")


def memory_by_service(lab: Lab) -> list[tuple[str, int, float, float]]:
    pss: collections.Counter = collections.Counter()
    rss: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    for pid in lab.processes():
        found = SERVICES.search(cmdline(pid))
        name = found.group(1).rstrip("-") if found else "other"
        pss[name] += pss_kib(pid)
        rss[name] += rss_kib(pid)
        count[name] += 1
    return [(name, count[name], pss[name] / 1024, rss[name] / 1024)
            for name, _ in pss.most_common()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lab-name", default="hbfull")
    parser.add_argument("--cidr", default="10.193.0.0/16")
    args = parser.parse_args()
    lab = Lab(args.lab_name, args.cidr, profile="full")
    steps: list[tuple[float, str]] = []
    was_up = lab.is_up()
    started = time.monotonic()
    try:
        if not was_up:
            lab.up(progress=lambda text: (steps.append((time.monotonic() - started, text)),
                                          print(f"lab up: {text}", file=sys.stderr)))
        took = time.monotonic() - started
        time.sleep(30)  # let the services settle before memory is read
        rows = memory_by_service(lab)
        print(f"load: {os.getloadavg()}")
        if not was_up:
            print(f"lab up --profile full: {took:.1f} s")
            previous = 0.0
            for at, text in steps:
                print(f"  +{at - previous:6.1f} s  {text.split('] ', 1)[-1][:90]}")
                previous = at
        total_pss = sum(r[2] for r in rows)
        total_rss = sum(r[3] for r in rows)
        print(f"memory: {total_pss / 1024:.2f} GiB PSS, {total_rss / 1024:.2f} GiB RSS in "
              f"{sum(r[1] for r in rows)} processes")
        print(f"{'service':18} {'processes':>9} {'PSS MiB':>9} {'RSS MiB':>9}")
        for name, count, pss, rss in rows:
            print(f"{name:18} {count:9d} {pss:9.0f} {rss:9.0f}")
    finally:
        if not was_up:
            lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
