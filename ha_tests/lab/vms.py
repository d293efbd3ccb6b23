"""The lab's "VMs": a namespace each, routed through its compute node.

A VM answers ping only while its compute forwards for it, so powering the compute off (its
cable pulled, its processes gone) makes its VMs unreachable, as on a real cloud; the host
reaches ``x.y.(100+i).0/24`` through ``cmp<i>``'s management address.
"""

from __future__ import annotations

from ha_tests.lab.network import link_exists, sysctl
from ha_tests.lab.plan import LabPlan, NodePlan, VmPlan
from ha_tests.lab.system import ip, netns_list, run


def create(plan: LabPlan, compute: NodePlan, vm: VmPlan) -> None:
    if vm.netns not in netns_list():
        ip("netns", "add", vm.netns)
    if not link_exists(vm.host_if, compute.netns):
        ip("-n", compute.netns, "link", "add", vm.host_if, "type", "veth",
           "peer", "name", vm.vm_if, "netns", vm.netns)
    ip("-n", compute.netns, "addr", "replace", f"{vm.gateway}/24", "dev", vm.host_if)
    ip("-n", compute.netns, "link", "set", vm.host_if, "up")
    sysctl(compute.netns, "net.ipv4.ip_forward", "1")
    ip("-n", vm.netns, "link", "set", "lo", "up")
    ip("-n", vm.netns, "addr", "replace", f"{vm.address}/24", "dev", vm.vm_if)
    ip("-n", vm.netns, "link", "set", vm.vm_if, "up")
    ip("-n", vm.netns, "route", "replace", "default", "via", vm.gateway)
    ip("route", "replace", vm.subnet, "via", compute.mgmt_ip, "dev", plan.bridge)


def ping(address: str, timeout: float = 1.0) -> bool:
    result = run(["ping", "-c", "1", "-n", "-q", "-W", str(max(1, int(timeout))), address],
                 check=False, timeout=timeout + 5)
    return result.returncode == 0
