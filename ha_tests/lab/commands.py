"""``ha-tests lab up|down|status|env``: the lab from the command line.

``register(subparsers)`` plugs the commands into the main CLI; ``python -m
ha_tests.lab.commands up`` works on its own too. Every handler returns an exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ha_tests.lab.lab import Lab
from ha_tests.lab.plan import DEFAULT_CIDR, DEFAULT_NAME, PROFILES, STYLES
from ha_tests.lab.system import LabError


def _lab(args) -> Lab:
    return Lab(name=args.name, cidr=args.cidr, computes=getattr(args, "computes", None),
               profile=getattr(args, "profile", None), style=getattr(args, "style", None))


def _needs_root() -> int | None:
    if os.geteuid() != 0:
        print("ha-tests lab: needs root (network namespaces, bridges); run it with sudo",
              file=sys.stderr)
        return 1
    return None


def cmd_up(args) -> int:
    if (rc := _needs_root()) is not None:
        return rc
    started = time.monotonic()
    try:
        lab = _lab(args)
        created = lab.up(progress=lambda text: print(text, flush=True))
    except (LabError, ValueError, RuntimeError) as error:
        print(f"ha-tests lab up: {error}", file=sys.stderr)
        print(f"(clean up with: ha-tests lab down --name {args.name})", file=sys.stderr)
        return 1
    if created:
        print(f"lab {lab.name} up in {time.monotonic() - started:.1f} s. To use it:")
        print(f"  {lab.env()}")
    return 0


def cmd_down(args) -> int:
    if (rc := _needs_root()) is not None:
        return rc
    try:
        lab = _lab(args)
        removed = lab.down()
    except (LabError, ValueError) as error:
        print(f"ha-tests lab down: {error}", file=sys.stderr)
        return 1
    if removed:
        for item in removed:
            print(f"removed {item}")
        print(f"lab {lab.name} is down")
    else:
        print(f"lab {lab.name}: nothing to remove")
    return 0


def cmd_status(args) -> int:
    if (rc := _needs_root()) is not None:
        return rc
    try:
        status = _lab(args).status()
    except (LabError, ValueError) as error:
        print(f"ha-tests lab status: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status, indent=2))
        return 0 if status["up"] else 3
    if status["state"] == "absent":
        print(f"lab {status['name']}: not up")
        return 3
    print(f"lab {status['name']} ({status['cidr']}): {status['state']}, dir {status['dir']}")
    print(f"VIP {status['vip']} held by {status['vip_holder'] or 'nobody'}")
    for node in status["nodes"]:
        bmc = f"  BMC {node['bmc_address']}: {node['bmc_power'] or '-'}"
        services = ", ".join(f"{k} {v}" for k, v in node["services"].items()) or "-"
        print(f"  {node['name']:<5} {node['role']:<10} {node['address']:<14} "
              f"power {node['power']:<3}{bmc}\n        {services}")
    for vm in status["vms"]:
        print(f"  VM {vm['name']} {vm['address']} on {vm['host']}: "
              f"{'answers ping' if vm['ping'] else 'no answer'}")
    memory = status.get("memory") or {}
    if memory:
        print(f"memory: {memory['processes']} processes, RSS {memory['rss_mib']} MiB, "
              f"PSS {memory['pss_mib']} MiB")
    return 0 if status["up"] else 3


def cmd_env(args) -> int:
    lab = _lab(args)
    if not lab.inventory_path.exists():
        print(f"# lab {lab.name} is not up (no {lab.inventory_path})", file=sys.stderr)
        return 1
    print(lab.env())
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=DEFAULT_NAME, help="lab name (default %(default)s)")
    parser.add_argument("--cidr", default=DEFAULT_CIDR,
                        help="address range, a /16 (default %(default)s)")


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``lab up|down|status|env`` to an argparse subparsers object."""
    lab = subparsers.add_parser("lab", help="the built-in HA lab (namespaces on this machine)",
                                description="Bring up, inspect or remove the HA lab.")
    commands = lab.add_subparsers(dest="lab_command", metavar="COMMAND", required=True)
    for name, handler, text in (
            ("up", cmd_up, "build and start the lab; waits until the API answers"),
            ("down", cmd_down, "remove every trace of the lab"),
            ("status", cmd_status, "nodes, services, VIP holder, BMC power"),
            ("env", cmd_env, "print the shell exports to use the lab")):
        parser = commands.add_parser(name, help=text, description=text)
        _common(parser)
        if name == "up":
            parser.add_argument("--computes", type=int, default=None, metavar="N",
                                help="compute nodes (default 2; more for fan-out benchmarks)")
            parser.add_argument("--profile", choices=PROFILES, default=None,
                                help="identity (default: Keystone only, fast) or full "
                                     "(MariaDB, RabbitMQ, Placement, Nova as well)")
            parser.add_argument("--style", choices=STYLES, default=None,
                                help="native (default: the node's supervisor runs the "
                                     "services) or kolla (the controllers' services in "
                                     "podman containers named as kolla-ansible names them, "
                                     "and a kolla multinode INI and globals.yml) or "
                                     "pacemaker (Pacemaker, not keepalived, holds the VIP "
                                     "and runs HAProxy, as on TripleO's controllers)")
        if name == "status":
            parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.set_defaults(func=handler)
    return lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.commands")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "lab":
        argv = ["lab", *argv]  # "python -m ha_tests.lab.commands up" reads as "lab up"
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
