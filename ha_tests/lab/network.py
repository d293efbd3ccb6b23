"""The lab's wiring: one bridge in the host, one network namespace per node and per VM.

Each node hangs on the bridge by a veth whose host end is named after the node
(``halab-ctl1``: pulling that "cable" is how power-off makes a node silent) and whose node end
is ``br-mgmt``, the name Yardstick's HA test cases expect. The BMC addresses live on the host
bridge, where the virtual BMC daemon binds them.
"""

from __future__ import annotations

from ha_tests.lab.plan import MGMT_IF, LabPlan, NodePlan
from ha_tests.lab.system import ip, netns_list, netns_pids, run


def link_exists(name: str, netns: str | None = None) -> bool:
    args = (["-n", netns] if netns else []) + ["link", "show", name]
    return ip(*args, check=False).returncode == 0


def create_bridge(plan: LabPlan) -> None:
    if not link_exists(plan.bridge):
        ip("link", "add", plan.bridge, "type", "bridge")
    ip("addr", "replace", f"{plan.host_ip}/24", "dev", plan.bridge)
    ip("addr", "replace", f"{plan.bmc_host_ip}/24", "dev", plan.bridge)
    for node in plan.nodes:
        ip("addr", "replace", f"{node.bmc_ip}/32", "dev", plan.bridge)
    ip("link", "set", plan.bridge, "up")


def create_node(plan: LabPlan, node: NodePlan) -> None:
    """The node's namespace and its cable to the bridge, addressed as at boot."""
    if node.netns not in netns_list():
        ip("netns", "add", node.netns)
    if not link_exists(node.host_link):
        ip("link", "add", node.host_link, "type", "veth", "peer", "name", MGMT_IF,
           "netns", node.netns)
    ip("link", "set", node.host_link, "master", plan.bridge, "up")
    ip("-n", node.netns, "link", "set", "lo", "up")
    ip("-n", node.netns, "addr", "replace", f"{node.mgmt_ip}/24", "dev", MGMT_IF)
    ip("-n", node.netns, "link", "set", MGMT_IF, "up")


def sysctl(netns: str, key: str, value: str) -> None:
    run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", f"{key}={value}"])


def lab_namespaces(plan: LabPlan) -> list[str]:
    pattern = plan.netns_pattern()
    return [ns for ns in netns_list() if pattern.match(ns)]


def remove(plan: LabPlan) -> list[str]:
    """Delete the lab's namespaces, routes and bridge; what was removed, for the log.

    Processes still inside a namespace must be gone first (the caller kills them)."""
    removed = []
    if link_exists(plan.bridge):
        for vm in plan.vms:  # only routes through this lab's bridge, never another's
            if ip("route", "del", vm.subnet, "dev", plan.bridge, check=False).returncode == 0:
                removed.append(f"route {vm.subnet}")
    for ns in lab_namespaces(plan):
        if ip("netns", "del", ns, check=False).returncode == 0:
            removed.append(f"namespace {ns}")
    for node in plan.nodes:
        if link_exists(node.host_link) and ip("link", "del", node.host_link,
                                              check=False).returncode == 0:
            removed.append(f"link {node.host_link}")
    if link_exists(plan.bridge):
        ip("link", "del", plan.bridge, check=False)
        removed.append(f"bridge {plan.bridge}")
    return removed


def namespace_processes(plan: LabPlan) -> dict[str, list[int]]:
    return {ns: netns_pids(ns) for ns in lab_namespaces(plan)}
