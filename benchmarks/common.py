"""What every lab benchmark shares: its lab options, and a lab that is up for the benchmark
(brought up and taken down again, unless it was already up)."""

from __future__ import annotations

import argparse
import contextlib
import sys

from ha_tests.lab import Lab


def add_lab_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab-name", default="hbench")
    parser.add_argument("--cidr", default="10.192.0.0/16")


@contextlib.contextmanager
def lab_up(args: argparse.Namespace):
    lab = Lab(args.lab_name, args.cidr, computes=getattr(args, "computes", None))
    was_up = lab.is_up()
    if not was_up:
        lab.up(progress=lambda text: print(f"lab up: {text}", file=sys.stderr))
    try:
        yield lab
    finally:
        if not was_up:
            lab.down()
