"""What each key of Yardstick's availability catalogue becomes in ha-tests, or why it cannot.

Yardstick reads its own packaged catalogues (attacker_conf.yaml, monitor_conf.yaml,
operation_conf.yaml, result_checker_conf.yaml: key -> ha_tools script), never the user's, so
the catalogue of the iruya release (9.0.0) is fixed and written down here as facts. Some keys
name scripts that Yardstick never shipped: a test case using them could never run there either,
and gets an error that says so instead of a traceback.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

#: ha_tools scripts named by the catalogues but absent from Yardstick's tree at iruya
NEVER_SHIPPED = {
    "ha_tools/nova_image_list.bash",
    "ha_tools/swift/upload.bash",
    "ha_tools/swift/delete.bash",
    "ha_tools/swift/download.bash",
    "ha_tools/file/remove_file.bash",
    "ha_tools/nova/show_instances.bash",
}


@dataclass(frozen=True)
class AttackKind:
    """A Yardstick attack (fault_type or a general-attacker's attack_key) in ha-tests terms."""

    plugin: str | None
    #: held until the monitors end (Yardstick recovers at teardown), versus one-shot (a kill)
    sustained: bool = False
    scripts: tuple[str, ...] = ()
    #: why it cannot run, when plugin is None
    refused: str | None = None
    #: a difference users must know about, when it runs
    caveat: str | None = None


ATTACKS: dict[str, AttackKind] = {
    "kill-process": AttackKind("kill-process", scripts=(
        "ha_tools/check_process_python.bash", "ha_tools/fault_process_kill.bash",
        "ha_tools/start_service.bash")),
    "kill-lxc-process": AttackKind(None, scripts=(
        "ha_tools/check_lxc_process_python.bash", "ha_tools/fault_lxc_process_kill.bash",
        "ha_tools/start_lxc_service.bash"),
        refused="kills processes inside LXC containers found with lxc-ls/lxc-attach, which "
                "ha-tests does not drive; declare the containers' processes as services "
                "(manager: docker/podman or command) in a native inventory instead"),
    "bare-metal-down": AttackKind("power-off", sustained=True, scripts=(
        "ha_tools/check_host_ping.bash", "ha_tools/ipmi_power.bash")),
    "stop-service": AttackKind("stop-service", sustained=True, scripts=(
        "ha_tools/stop_service.bash", "ha_tools/start_service.bash")),
    "close-interface": AttackKind("block-nic", sustained=True, scripts=(
        "ha_tools/network/close_interface.bash", "ha_tools/network/open_interface.bash")),
    "stress-cpu": AttackKind("cpu-hog", sustained=True, scripts=(
        "ha_tools/node/stress_cpu.bash", "ha_tools/node/release_cpu.bash")),
    "block-io": AttackKind("io-stall", sustained=True, scripts=(
        "ha_tools/disk/block_io.bash", "ha_tools/disk/recovery_disk_io.bash")),
    "kill-corosync": AttackKind("kill-process", scripts=(
        "ha_tools/fault_process_kill.bash", "ha_tools/node/reboot_node.bash"),
        caveat="Yardstick recovers by rebooting the node (reboot_node.bash); ha-tests waits "
               "for the process to come back and restarts it, without a reboot"),
}


@dataclass(frozen=True)
class MonitorKind:
    """A Yardstick monitor (monitor_type, or a general-monitor's monitor_key)."""

    plugin: str | None
    script: str | None = None
    refused: str | None = None


MONITORS: dict[str, MonitorKind] = {
    "openstack-cmd": MonitorKind("openstack-cmd", "ha_tools/check_openstack_cmd.bash"),
    "process": MonitorKind("process", "ha_tools/check_process_python.bash"),
}

GENERAL_MONITORS: dict[str, MonitorKind] = {
    "process-status": MonitorKind("process", "ha_tools/check_process_python.bash"),
    "lxc_process-status": MonitorKind(
        None, "ha_tools/check_lxc_process_python.bash",
        refused="counts processes inside LXC containers (lxc-attach), which ha-tests does "
                "not drive"),
    "nova-image-list": MonitorKind(None, "ha_tools/nova_image_list.bash"),
    "service-status": MonitorKind("command", "ha_tools/check_service.bash"),
    "ip-status": MonitorKind("command", "ha_tools/network/ping.bash"),
}

#: operation_conf.yaml and result_checker_conf.yaml: key -> scripts
OPERATIONS: dict[str, tuple[str, ...]] = {
    "nova-create-instance": ("ha_tools/nova/create_instance_from_image.bash",
                             "ha_tools/nova/delete_instance.bash"),
    "swift-upload-file": ("ha_tools/swift/upload.bash", "ha_tools/swift/delete.bash"),
    "swift-download-file": ("ha_tools/swift/download.bash", "ha_tools/file/remove_file.bash"),
    "nova-create-flavor": ("ha_tools/nova/create_flavor.bash",
                           "ha_tools/nova/delete_flavor.bash"),
    "get-floatingip": ("ha_tools/nova/get_server_floatingip.bash",
                       "ha_tools/nova/list_servers.bash"),
    "get-vip-host": ("ha_tools/pacemaker/get_vip_host.bash",
                     "ha_tools/pacemaker/get_resource_status.bash"),
    "start-service": ("ha_tools/start_service.bash", "ha_tools/check_process_python.bash"),
    "add-server-to-secgroup": ("ha_tools/nova/add_server_to_existing_secgroup.bash",
                               "ha_tools/nova/remove_server_from_secgroup.bash"),
    "get-privateip": ("ha_tools/nova/get_server_privateip.bash",
                      "ha_tools/nova/list_servers.bash"),
}

RESULT_CHECKERS: dict[str, tuple[str, ...]] = {
    "process-checker": ("ha_tools/check_process_python.bash",),
    "service-checker": ("ha_tools/check_service.bash",),
    "nova-instance-checker": ("ha_tools/nova/show_instances.bash",),
    "nova-flavor-checker": ("ha_tools/nova/show_flavors.bash",),
    "pacemaker-resource-checker": ("ha_tools/pacemaker/get_resource_status_host.bash",),
}


def missing_scripts(scripts: tuple[str, ...] | str | None) -> list[str]:
    if scripts is None:
        return []
    if isinstance(scripts, str):
        scripts = (scripts,)
    return [s for s in scripts if s in NEVER_SHIPPED]


# -- processes ----------------------------------------------------------------------------
def kill_pattern(process_name: str) -> str:
    """The command lines fault_process_kill.bash kills, as a regex over /proc cmdline.

    keystone: every process mentioning keystone except monitors; haproxy: a binary under
    /usr; anything else: the name preceded by a character that cannot be part of a name (so
    killing ``nova-api`` spares ``openstack-nova-api`` wrappers, as Yardstick's pgrep does).
    The name is a name: its characters match themselves (``"|.*"`` would match every process).
    """
    if process_name == "keystone":
        return r"^(?!.*(?i:monitor)).*keystone"
    if process_name == "haproxy":
        return r"^/usr/[^ ]*/haproxy"
    return r"[^-_a-zA-Z0-9]" + re.escape(process_name)


def count_pattern(process_name: str) -> str:
    """What check_process_python.bash counts (``ps aux | grep -e NAME``), over the cmdline;
    the name matched literally, like :func:`kill_pattern`."""
    return re.escape(process_name)


def start_command(service_name: str, action: str = "start") -> str:
    """Yardstick's service scripts as one command line, with their name mapping.

    start/restart (start_service.bash): ``openstack-NAME`` on yum nodes (except keystone,
    neutron-server, haproxy, openvswitch), keystone as apache2 (apt) or httpd. stop
    (stop_service.bash): ``openstack-NAME`` unless the node is Ubuntu (except keystone,
    neutron-server, haproxy), keystone as apache2 on Ubuntu, else httpd. Then systemctl, else
    service. status (check_service.bash): ``service NAME status``, unmapped.
    """
    if action == "status":
        return shlex.join(["service", service_name, "status"])
    if action == "stop":
        rename = (
            'd=$(lsb_release -si 2>/dev/null); '
            'if [ "$d" != Ubuntu ] && [ "$n" != keystone ] && [ "$n" != neutron-server ] '
            '&& [ "$n" != haproxy ]; then n="openstack-$n"; '
            'elif [ "$n" = keystone ]; then if [ "$d" = Ubuntu ]; then n=apache2; '
            'else n=httpd; fi; fi; ')
    else:
        rename = (
            'if [ -f /usr/bin/yum ] && [ "$n" != keystone ] && [ "$n" != neutron-server ] '
            '&& [ "$n" != haproxy ] && [ "$n" != openvswitch ]; then n="openstack-$n"; '
            'elif [ "$n" = keystone ]; then if [ -f /usr/bin/apt ]; then n=apache2; '
            'else n=httpd; fi; fi; ')
    body = ('n="$1"; a="$2"; ' + rename +
            'if command -v systemctl >/dev/null 2>&1; then systemctl "$a" "$n"; '
            'else service "$n" "$a"; fi')
    return shlex.join(["sh", "-c", body, "yardstick-service", service_name, action])


# -- OpenStack services behind a command ------------------------------------------------
#: catalog types that satisfy a need (block storage has had several names)
CATALOG_ALIASES: dict[str, tuple[str, ...]] = {
    "volume": ("block-storage", "volumev3", "volumev2", "volume"),
    "identity": ("identity",),
    "compute": ("compute",),
    "image": ("image",),
    "network": ("network",),
    "orchestration": ("orchestration",),
    "object-store": ("object-store",),
}

_OSC_RESOURCES: list[tuple[str, str]] = [
    (r"(user|project|domain|role|group|endpoint|service|catalog|token|region|credential"
     r"|application credential|trust)\b", "identity"),
    (r"(server|flavor|hypervisor|keypair|aggregate|availability zone|compute service"
     r"|host)\b", "compute"),
    (r"image\b", "image"),
    (r"(network|subnet|router|port|floating ip|security group|address scope)\b", "network"),
    (r"(volume|snapshot|backup|consistency group)\b", "volume"),
    (r"(stack|orchestration)\b", "orchestration"),
    (r"(container|object)\b", "object-store"),
]

#: OpenStack services by the prefix of their processes (nova-api, neutron-l3-agent, ...)
_PROCESS_PREFIXES = {"nova": "compute", "neutron": "network", "glance": "image",
                     "cinder": "volume", "heat": "orchestration", "swift": "object-store",
                     "keystone": "identity"}

_LEGACY_CLIENTS = {"keystone": "identity", "nova": "compute", "glance": "image",
                   "neutron": "network", "cinder": "volume", "heat": "orchestration",
                   "swift": "object-store"}


def service_needed(command: str) -> str | None:
    """The catalog service an OpenStack CLI command talks to, when it can be told."""
    words = command.split()
    if not words:
        return None
    if words[0] == "openstack":
        rest = " ".join(w for w in words[1:] if not w.startswith("-"))
        for pattern, service in _OSC_RESOURCES:
            if re.match(pattern, rest):
                return service
        return None
    return _LEGACY_CLIENTS.get(words[0])


def process_service(process_name: str) -> str | None:
    """The catalog service an OpenStack process serves (haproxy, mysql, ... serve none)."""
    head = re.split(r"[-_ ]", process_name.strip(), maxsplit=1)[0]
    return _PROCESS_PREFIXES.get(head)


#: ``openstack <words> list`` -> the api monitor's (service, call) making the same request
_API_CALLS: dict[str, tuple[str, str]] = {
    "user list": ("identity", "user-list"), "project list": ("identity", "project-list"),
    "service list": ("identity", "service-list"), "endpoint list": ("identity",
                                                                    "endpoint-list"),
    "token issue": ("identity", "token-issue"),
    "server list": ("compute", "server-list"), "flavor list": ("compute", "flavor-list"),
    "hypervisor list": ("compute", "hypervisor-list"),
    "compute service list": ("compute", "service-list"),
    "network list": ("network", "network-list"), "router list": ("network", "router-list"),
    "port list": ("network", "port-list"), "network agent list": ("network", "agent-list"),
    "image list": ("image", "image-list"),
    "volume list": ("volume", "volume-list"), "volume service list": ("volume",
                                                                      "service-list"),
    "stack list": ("orchestration", "stack-list"),
}


def api_call(command: str) -> tuple[str, str] | None:
    """The one API request an ``openstack ... list`` command makes, when it is exactly that.

    A CLI sample costs a Python start-up, an authentication and version discovery (1-5 s of
    CPU on the runner); the same request through the api monitor costs milliseconds, so the
    outage can be timed to a fraction of a second and the monitor never loads the machine.
    """
    words = command.split()
    if len(words) < 3 or words[0] != "openstack" or any(w.startswith("-") for w in words):
        return None
    return _API_CALLS.get(" ".join(words[1:]))
