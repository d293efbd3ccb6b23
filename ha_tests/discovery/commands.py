"""``ha-tests discover`` and the discovery options of ``run`` / ``validate-deployment``."""

from __future__ import annotations

import sys

from ha_tests.discovery.catalog import load_catalog
from ha_tests.discovery.complete import complete_inventory, merged_data, needs_of
from ha_tests.discovery.discover import discover
from ha_tests.discovery.facts import DEFAULT_TIMEOUT
from ha_tests.discovery.render import render, write
from ha_tests.errors import ExitCode


def add_source_options(parser) -> None:
    parser.add_argument("--catalog", help="your own service catalogue (YAML), added to the "
                        "shipped one (docs/discovery.rst)")
    parser.add_argument("--globals", dest="kolla_globals", metavar="GLOBALS_YML",
                        help="kolla-ansible's globals.yml (kolla_internal_vip_address)")
    parser.add_argument("--openrc", help="an openrc file (kolla's admin-openrc.sh) to read "
                        "Keystone's catalog with")
    parser.add_argument("--discover-timeout", type=float, default=DEFAULT_TIMEOUT,
                        metavar="SECONDS", help="how long a node may take to answer each of "
                        "discovery's read-only commands (default %(default)g; a slow or "
                        "emulated node needs more)")


def register(sub) -> None:
    cmd = sub.add_parser("discover", help="find services, VIPs, roles and endpoints on the "
                         "nodes (read-only) and write a complete inventory")
    cmd.add_argument("-i", "--inventory", required=True, help="ha-tests inventory, Yardstick "
                     "pod.yaml or Ansible inventory (kolla-ansible multinode, TripleO)")
    cmd.add_argument("--inventory-format", default="auto",
                     metavar="FORMAT",
                     help="auto (the default), ha-tests, pod, ansible or a registered one")
    cmd.add_argument("-o", "--output", help="write the inventory here (mode 0600; default: "
                     "print what was found only)")
    cmd.add_argument("--known-hosts", help="known_hosts to verify the nodes' host keys with, "
                     "for inventories that name none (a Yardstick pod.yaml)")
    add_source_options(cmd)
    cmd.set_defaults(func=cmd_discover)


def add_run_options(parser) -> None:
    """``--no-discover`` and the discovery sources, for the doors that run scenarios."""
    parser.add_argument("--no-discover", dest="discover", action="store_false",
                        help="never discover what the inventory lacks (docs/discovery.rst)")
    add_source_options(parser)


def cmd_discover(args) -> int:
    from ha_tests.inventory_formats import resolve_inventory

    inventory = resolve_inventory(args.inventory, args.inventory_format)
    if args.known_hosts:
        inventory = with_known_hosts(inventory, args.known_hosts)
    found = discover(inventory, catalog=load_catalog(args.catalog),
                     globals_file=args.kolla_globals, openrc=args.openrc,
                     timeout=args.discover_timeout)
    for line in found.lines():
        print(line, file=sys.stderr)
    if args.output:
        data, sources = merged_data(inventory, found)
        write(args.output, render(data, sources, found, args.inventory))
        print(f"inventory: {args.output}", file=sys.stderr)
    if found.unreachable:
        print(f"error: {len(found.unreachable)} of {len(inventory.nodes)} nodes could not be "
              f"asked ({', '.join(found.unreachable)}): what runs there is unknown; fix their "
              "address, SSH user/key or known_hosts and discover again", file=sys.stderr)
        return ExitCode.PREFLIGHT_FAILED
    return ExitCode.PASS


def with_known_hosts(inventory, path: str):
    """The inventory with ``path`` as the default known_hosts (a node's own wins)."""
    copy = inventory.model_copy(update={"ssh": inventory.ssh.model_copy(
        update={"known_hosts": path})})
    copy._source_file = inventory.source_file
    return copy


def completed(inventory, scenarios, args):
    """The inventory a run uses: discovery fills what the scenarios need and it lacks, and
    says what it found (on stderr), unless ``--no-discover``; ``--known-hosts`` is the
    default known_hosts of its nodes."""
    if inventory is not None and getattr(args, "known_hosts", None):
        inventory = with_known_hosts(inventory, args.known_hosts)
    if not getattr(args, "discover", True) or inventory is None:
        return inventory
    inventory, report = complete_inventory(
        inventory, needs_of(scenarios), catalog=load_catalog(getattr(args, "catalog", None)),
        globals_file=getattr(args, "kolla_globals", None),
        openrc=getattr(args, "openrc", None),
        timeout=getattr(args, "discover_timeout", DEFAULT_TIMEOUT))
    for line in report:
        print(line, file=sys.stderr)
    return inventory
