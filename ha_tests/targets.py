"""Blast radius in words: which nodes a target names, picked reproducibly.

``one``/``minority``/``majority`` pick at random with a seed that is recorded, so
``--seed`` replays the same choice; ``vip-holder`` asks the nodes who holds the VIP now.
"""

from __future__ import annotations

import ipaddress
import random

from ha_tests.errors import InputError, PreflightError, Problem, TransportError
from ha_tests.inventory import Inventory, Node
from ha_tests.scenario import Scenario, TargetSpec
from ha_tests.transport import ShellPool
from ha_tests.yamlsource import did_you_mean


def candidates(spec: TargetSpec, inventory: Inventory, file: str = "<scenario>") -> list[Node]:
    nodes: list[Node] = []
    for name in spec.nodes:
        try:
            nodes.append(inventory.node(name))
        except InputError:
            hint = did_you_mean(name, [n.name for n in inventory.nodes])
            raise InputError(Problem(file, None, None, "targets", f"no node '{name}' in the "
                                     f"inventory", hint)) from None
    if spec.role:
        nodes += [n for n in inventory.nodes_with_role(spec.role) if n not in nodes]
    if spec.service:
        if spec.service not in inventory.services:
            raise PreflightError(f"the inventory has no service '{spec.service}'")
        nodes += [n for n in inventory.service_nodes(spec.service) if n not in nodes]
    if not nodes:
        raise PreflightError(f"no node matches target (role={spec.role!r}, nodes={spec.nodes})")
    return nodes


def node_addresses(shells: ShellPool, node: Node) -> set[str]:
    """The node's addresses, from `ip -o addr` (one line per address; iproute2's JSON
    output has been seen malformed while links change, as they do right after a NIC fault)."""
    result = shells.get(node).run(["ip", "-o", "addr", "show"], timeout=5).check()
    addresses = set()
    for line in result.stdout.splitlines():
        words = line.split()
        for family in ("inet", "inet6"):
            if family in words and words.index(family) + 1 < len(words):
                addresses.add(words[words.index(family) + 1].split("/")[0])
    return addresses


def vip_holders(shells: ShellPool, nodes: list[Node], vip: str) -> list[Node]:
    holders = []
    for node in nodes:
        try:
            if vip in node_addresses(shells, node):
                holders.append(node)
        except TransportError:
            continue
    return holders


def pick(spec: TargetSpec, inventory: Inventory, shells: ShellPool, rng: random.Random,
         file: str = "<scenario>") -> list[Node]:
    nodes = candidates(spec, inventory, file)
    count = len(nodes)
    if spec.pick == "all":
        return nodes
    if spec.pick in ("vip-holder", "not-vip-holder"):
        vip = inventory.vips.get(spec.vip)
        if vip is None:
            raise PreflightError(f"target asks for the holder of VIP '{spec.vip}' but the "
                                 f"inventory's vips has: {', '.join(inventory.vips) or 'none'}")
        ipaddress.ip_address(vip)
        holders = vip_holders(shells, nodes, vip)
        if spec.pick == "vip-holder":
            if not holders:
                raise PreflightError(f"no node among {[n.name for n in nodes]} holds VIP {vip}")
            return holders[:1]
        others = [n for n in nodes if n not in holders]
        return [rng.choice(others)] if others else []
    size = {"one": 1, "minority": max(1, (count - 1) // 2), "majority": count // 2 + 1}[spec.pick]
    return sorted(rng.sample(nodes, min(size, count)), key=lambda n: nodes.index(n))


def resolve_targets(scenario: Scenario, inventory: Inventory, shells: ShellPool, seed: int,
                    *, errors: dict[str, str] | None = None) -> dict[str, list[Node]]:
    """Every target of a scenario, in its declared order: a target's own ``seed:`` picks
    with its own generator, the others share one seeded with the run's seed. The run and
    its plan (``--dry-run``) both call this, so they name the same nodes.

    With ``errors``, a target that cannot be resolved is left out and its reason put there
    (a plan names every problem at once); without, the first one raises.
    """
    rng = random.Random(seed)
    resolved: dict[str, list[Node]] = {}
    for name, spec in scenario.model.targets.items():
        own = random.Random(spec.seed) if spec.seed is not None else rng
        try:
            resolved[name] = pick(spec, inventory, shells, own, scenario.file)
        except (InputError, PreflightError) as exc:
            if errors is None:
                raise
            errors[name] = str(exc)
    return resolved
