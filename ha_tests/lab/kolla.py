"""The kolla-style lab (``ha-tests lab up --style kolla``): what a kolla-ansible deployment
leaves on its controllers, with real parts.

Each controller service the lab runs (Keystone, HAProxy, keepalived and, with the full
profile, MariaDB, RabbitMQ, Nova, Placement, Cinder...) runs in a real podman container (crun)
named as kolla-ansible names it (``keystone``, ``nova_api``, ``rabbitmq``), with the restart
policy kolla gives its containers (``unless-stopped``: a crash is restarted, a ``podman
stop`` is not). No image registry is needed: a container's root is the host's own files
(``--rootfs /:O``, an overlay), and it runs the very command line the native lab runs; only
the launcher changes, so every service the lab adds is containerised without a line of its
own. Each node has its own podman storage and configuration (its ``/etc/containers`` is the
node's, bound in the node's mount namespace), so plain ``podman ps`` over SSH shows that
node's containers, as on a real controller. crun refuses cgroup "hybrid" mode, so a node
mounts the cgroup v1 hierarchies without the cgroup2 ``unified`` one (in its own mount
namespace only). The lab also writes kolla-ansible's ``multinode`` INI and a ``globals.yml``
(``kolla_internal_vip_address``; no services map) for the lab's machines.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
from pathlib import Path

from ha_tests.lab.plan import MGMT_IF, LabPlan, NodePlan

PODMAN = "/usr/bin/podman"
#: lab service -> kolla-ansible's container name, where the two differ by more than "-"/"_"
CONTAINER_NAMES = {"rabbitmq-server": "rabbitmq", "mysql": "mariadb", "galera": "mariadb",
                   "clustercheck": "mariadb_clustercheck"}
#: services that stay on the node itself: the node's own sshd, as on a kolla controller
NOT_CONTAINERISED = {"sshd"}
#: kolla-ansible runs these privileged (they change the node's addresses, routes, iptables)
PRIVILEGED = {"keepalived", "haproxy", "neutron_openvswitch_agent", "neutron_l3_agent",
              "neutron_dhcp_agent", "nova_compute", "nova_libvirt", "cinder_volume"}
#: these share the node's PID namespace (kolla's ``pid_mode: host``): keepalived's check
#: of HAProxy looks for HAProxy's process, which another container runs
PID_HOST = {"keepalived"}
#: cgroup v1 hierarchies a node mounts for crun (the host's, without cgroup2 ``unified``)
CGROUP_V1 = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")
BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


def available() -> bool:
    return bool(shutil.which("podman") and shutil.which("crun"))


def container_name(service: str) -> str:
    return CONTAINER_NAMES.get(service, service.replace("-", "_"))


def containerised(plan: LabPlan, node: NodePlan, service: str) -> bool:
    return plan.kolla and node.is_controller and service not in NOT_CONTAINERISED


def containers_dir(plan: LabPlan, node: NodePlan) -> Path:
    """The node's ``/etc/containers``: the host's, with the node's own storage."""
    return plan.node_dir(node.name) / "etc-containers"


def write_node_config(plan: LabPlan, node: NodePlan) -> Path:
    """The node's podman configuration: storage under the node's directory (images and
    containers survive a power cycle, as on a disk) and run state in the node's /run (emptied
    at boot, so podman sees a reboot), crun, cgroupfs (no systemd on a lab node)."""
    node_dir = plan.node_dir(node.name)
    target = containers_dir(plan, node)
    if target.exists():
        shutil.rmtree(target)
    if Path("/etc/containers").is_dir():
        shutil.copytree("/etc/containers", target, symlinks=True)
    target.mkdir(parents=True, exist_ok=True)
    (target / "libpod.conf").unlink(missing_ok=True)  # podman's old file would win
    run = node_dir / "run" / "containers"
    (target / "storage.conf").write_text(
        "# this lab node's own podman storage (ha-tests lab, --style kolla)\n"
        "[storage]\ndriver = \"overlay\"\n"
        f"graphroot = \"{node_dir / 'containers' / 'storage'}\"\n"
        f"runroot = \"{run / 'storage'}\"\n")
    (target / "containers.conf").write_text(
        "# this lab node's podman (ha-tests lab, --style kolla)\n"
        "[engine]\nruntime = \"crun\"\ncgroup_manager = \"cgroupfs\"\n"
        "events_logger = \"file\"\n"
        f"events_logfile_path = \"{run / 'events.log'}\"\n"
        f"tmp_dir = \"{run / 'libpod'}\"\n"
        "[containers]\nlog_driver = \"k8s-file\"\n")
    return target


def container(plan: LabPlan, node: NodePlan, service: dict) -> dict:
    """A node service (``{"name", "path", "argv", "env"}``, as the native lab starts it) as
    the kolla container that runs the same command line: ``{"name", "create": argv}``."""
    name = container_name(service["name"])
    node_dir = plan.node_dir(node.name)
    argv = [PODMAN, "create", "--name", name, "--network", "host", "--uts", "host",
            "--restart", "unless-stopped", "--stop-timeout", "10",
            "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
            "--log-driver", "k8s-file", "--log-opt", f"path={node_dir / 'log' / name}.log",
            "--volume", f"{plan.dir}:{plan.dir}", "--workdir", str(node_dir),
            "--label", f"ha-tests.lab={plan.name}",
            "--label", f"ha-tests.service={service['name']}"]
    if name in PRIVILEGED:
        argv.append("--privileged")
    if name in PID_HOST:
        argv += ["--pid", "host"]
    for key, value in {**BASE_ENV, **service.get("env", {})}.items():
        argv += ["--env", f"{key}={value}"]
    # the host's files, no image; ``exec -a`` keeps the process name the service gives itself
    # (a Python found through no path then finds its prefix from the working directory: the
    # node's, as under the native supervisor, never "/", whose lib/ is the system Python's)
    argv += ["--rootfs", "/:O", "/bin/bash", "-c",
             f'exec -a "$0" {shlex.quote(service["path"])} "$@"', *service["argv"]]
    return {"name": name, "service": service["name"], "create": argv}


def cgroup_mounts() -> list[list[str]]:
    """``mount`` argument lists that give a node the cgroup v1 hierarchies crun accepts."""
    mounts = [["-t", "tmpfs", "-o", "mode=755", "tmpfs", "/sys/fs/cgroup"]]
    mounts += [["-t", "cgroup", "-o", c, "cgroup", f"/sys/fs/cgroup/{c}"] for c in CGROUP_V1]
    mounts.append(["-t", "cgroup", "-o", "none,name=systemd", "cgroup",
                   "/sys/fs/cgroup/systemd"])
    return mounts


def node_spec(plan: LabPlan, node: NodePlan, services: list[dict]) -> dict:
    """What a node's node.json says in the kolla style: the services left to the node's
    supervisor, its containers (a controller's), its cgroup mounts and its own
    /etc/containers (every node's: a compute's ``podman ps`` lists nothing, not the host's)."""
    native = [s for s in services if not containerised(plan, node, s["name"])]
    made = [container(plan, node, s) for s in services
            if containerised(plan, node, s["name"])]
    return {"services": native, "containers": made,
            "cgroup_mounts": cgroup_mounts() if made else [],
            "masks": [{"path": "/etc/containers", "source": str(write_node_config(plan, node))}]}


def as_containers(plan: LabPlan, services: dict[str, dict]) -> dict[str, dict]:
    """The lab inventory's services map in the kolla style: each controller-only service is
    controlled through its container (``manager: podman``), as on a kolla deployment."""
    if not plan.kolla:
        return services
    controllers = {n.name for n in plan.controllers}
    result = {}
    for name, entry in services.items():
        unit = str(entry.get("start", "")).split()[-1:] or [name]
        on = set(entry.get("nodes") or []) or (
            controllers if entry.get("roles") == ["controller"] else set())
        if entry.get("manager") == "command" and on and on <= controllers \
                and unit[0] not in NOT_CONTAINERISED:
            entry = {k: v for k, v in entry.items() if k not in ("start", "stop", "status")}
            entry.update(manager="podman", container=container_name(unit[0]))
        result[name] = entry
    return result


def multinode(plan: LabPlan, key_file: Path, known_hosts: Path,
              bmc: dict[str, dict[str, str]]) -> str:
    """kolla-ansible's ``multinode`` for the lab's machines (``bmc``: node -> ipmi_* vars);
    what an operator hands ``ha-tests validate-deployment``. Holds BMC passwords: 0600."""
    def host(node: NodePlan) -> str:
        extra = " ".join(f"{k}={v}" for k, v in bmc.get(node.name, {}).items())
        return f"{node.name} ansible_host={node.mgmt_ip} {extra}".rstrip()

    lines = [f"# kolla-ansible multinode of lab {plan.name}, written by ha-tests lab up",
             "[control]", *map(host, plan.controllers), "", "[network:children]", "control",
             "", "[compute]", *(host(n) for n in plan.nodes if not n.is_controller), "",
             "[monitoring:children]", "control", "", "[storage:children]", "control", "",
             "[baremetal:children]", "control", "compute", "", "[all:vars]",
             "ansible_user=root", f"ansible_ssh_private_key_file={key_file}",
             f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts}'", ""]
    return "\n".join(lines)


def globals_yml(plan: LabPlan) -> str:
    """kolla-ansible's ``globals.yml`` for the lab: the VIP and the interface, no services."""
    return (f"---\n# kolla-ansible globals of lab {plan.name}, written by ha-tests lab up\n"
            "kolla_base_distro: \"debian\"\n"
            f"kolla_internal_vip_address: \"{plan.vip}\"\n"
            f"network_interface: \"{MGMT_IF}\"\n"
            f"enable_haproxy: \"yes\"\nenable_keepalived: \"yes\"\n"
            f"enable_mariadb: \"{'yes' if plan.full else 'no'}\"\n"
            f"enable_rabbitmq: \"{'yes' if plan.full else 'no'}\"\n"
            f"enable_nova: \"{'yes' if plan.full else 'no'}\"\n"
            f"enable_neutron: \"no\"\n")


def remove_cgroups(plan: LabPlan) -> list[str]:
    """The cgroups podman made for this lab's containers (cgroupfs, in the host's v1
    hierarchies): a powered-off node's containers die without removing theirs. Call it
    before the lab's directory goes: the container ids are read from the nodes' storage."""
    ids = {p.name for node in plan.nodes
           for p in (plan.node_dir(node.name) / "containers" / "storage"
                     / "overlay-containers").glob("*") if p.is_dir()}
    removed = []
    for container_id in sorted(ids):
        for path in Path("/sys/fs/cgroup").glob(f"*/libpod_parent/libpod-{container_id}"):
            for child in sorted(path.rglob("*"), reverse=True):
                if child.is_dir():
                    with contextlib.suppress(OSError):
                        child.rmdir()
            with contextlib.suppress(OSError):
                path.rmdir()
                removed.append(container_id)
    return sorted(set(removed))
