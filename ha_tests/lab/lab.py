"""The lab: a miniature HA OpenStack control plane on this machine, for real fault injection.

Three controllers (sshd, Keystone under gunicorn, HAProxy, keepalived with the API VIP) and
two computes (sshd, one "VM" each), every node a set of namespaces with its own PID 1, plus a
virtual IPMI BMC per node. ``Lab`` brings it up, reports on it and removes every trace of it;
all names come from the lab's name and range (``plan.py``), so ``down`` also cleans up after a
crash or a half-finished ``up``.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ha_tests.lab import (
    bmc,
    files,
    full_profile,
    hactl,
    haproxy,
    hypervisor,
    keepalived,
    keystone,
    kolla,
    mariadb,
    memcached,
    network,
    pacemaker,
    rabbitmq,
    sshd,
    vms,
)
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.plan import (
    BMC_PORT,
    CLOUD_NAME,
    DEFAULT_CIDR,
    DEFAULT_NAME,
    MGMT_IF,
    LabPlan,
    NodePlan,
)
from ha_tests.lab.power import NodePower
from ha_tests.lab.system import (
    LabError,
    alive,
    cmdline,
    ip,
    kill,
    netns_pids,
    pss_kib,
    read_secret,
    require_root,
    rss_kib,
    wait_until,
    write_secret,
)

UP_TIMEOUT = 120.0
#: lab up waits this long for the database cluster: its members join one SST at a time
CLUSTER_TIMEOUT = 240.0
#: how long a Galera cluster may take to get a primary component before lab up reforms it
FORM_TIMEOUT = 90.0
# Hypervisors started by this process, so ``down`` can reap them (no zombie left behind).
_children: dict[str, subprocess.Popen] = {}


class Lab:
    """One lab, named and addressed as docs/contracts.rst says."""

    def __init__(self, name: str = DEFAULT_NAME, cidr: str = DEFAULT_CIDR,
                 computes: int | None = None, profile: str | None = None,
                 style: str | None = None):
        recorded = LabPlan(name, cidr)  # a lab that is up keeps what it was brought up with
        if computes is None:
            computes = recorded.computes_recorded()
        if profile is None:
            profile = recorded.profile_recorded()
        if style is None:
            style = recorded.style_recorded()
        self.plan = LabPlan(name, cidr, computes, profile, style)
        self.name = self.plan.name
        self.cidr = self.plan.cidr
        self.dir = self.plan.dir

    def __repr__(self) -> str:
        return f"Lab({self.name!r}, {self.cidr!r})"

    # -- paths ----------------------------------------------------------------------------------
    @property
    def inventory_path(self) -> Path:
        return self.dir / "inventory.yaml"

    @property
    def clouds_yaml_path(self) -> Path:
        return self.dir / "clouds.yaml"

    @property
    def pod_yaml_path(self) -> Path:
        return self.dir / "pod.yaml"

    @property
    def pod_password_yaml_path(self) -> Path:
        """The same pod.yaml, logging in with root's password instead of the lab's key."""
        return self.dir / "pod-password.yaml"

    @property
    def kolla_multinode_path(self) -> Path:
        """kolla-ansible's ``multinode`` for the lab's machines (``--style kolla`` only)."""
        return files.kolla_multinode_path(self.plan)

    @property
    def kolla_globals_path(self) -> Path:
        return files.kolla_globals_path(self.plan)

    @property
    def kolla_openrc_path(self) -> Path:
        return files.kolla_openrc_path(self.plan)

    @property
    def openrc_path(self) -> Path:
        return self.dir / "openrc"

    @property
    def _state_path(self) -> Path:
        return self.dir / "lab.json"

    @property
    def admin_password(self) -> str:
        return read_secret(self.dir / "secrets" / "admin-password")

    def power(self, node: str) -> NodePower:
        return NodePower(node, self.dir)

    def _state(self) -> dict:
        try:
            return json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}

    def is_up(self) -> bool:
        return self._state().get("state") == "up" and network.link_exists(self.plan.bridge)

    def broken_parts(self) -> list[str]:
        """What a lab that says it is up lacks: its daemons died with the shell that ran them
        (a killed session, a host restart) while namespaces and bridge stayed."""
        missing = []
        if not self._hypervisor_pid():
            missing.append("the hypervisor is not running")
        if bmc.available() and bmc.running_pid(self.plan) is None:
            missing.append("the virtual BMC daemon is not running")
        namespaces = set(network.lab_namespaces(self.plan))
        absent = [n.name for n in self.plan.nodes if n.netns not in namespaces]
        if absent:
            missing.append(f"node namespaces missing: {', '.join(absent)}")
        return missing

    def env(self) -> str:
        return (f"export OS_CLOUD={CLOUD_NAME} OS_CLIENT_CONFIG_FILE={self.clouds_yaml_path} "
                f"HA_TESTS_INVENTORY={self.inventory_path}")

    # -- up -------------------------------------------------------------------------------------
    def up(self, progress: Callable[[str], None] | None = None) -> bool:
        """Bring the lab up; False if it already was. Raises LabError on failure."""
        require_root()
        started = time.monotonic()

        def step(text: str) -> None:
            if progress:
                progress(f"[{time.monotonic() - started:5.1f}s] {text}")

        state = self._state()
        if self.is_up():
            if state.get("cidr") != self.cidr:
                raise LabError(f"lab {self.name} is up with range {state.get('cidr')}; "
                               f"take it down first to use {self.cidr}")
            if state.get("computes", 2) != len(self.plan.computes):
                raise LabError(f"lab {self.name} is up with {state.get('computes', 2)} "
                               f"computes; take it down first to use "
                               f"{len(self.plan.computes)}")
            if state.get("profile", "identity") != self.plan.profile:
                raise LabError(f"lab {self.name} is up with profile "
                               f"{state.get('profile', 'identity')}; take it down first to "
                               f"use {self.plan.profile}")
            if state.get("style", "native") != self.plan.style:
                raise LabError(f"lab {self.name} is up with style "
                               f"{state.get('style', 'native')}; take it down first to "
                               f"use --style {self.plan.style}")
            broken = self.broken_parts()
            if not broken:
                step(f"lab {self.name} is already up ({self.dir})")
                return False
            step(f"lab {self.name} is up but broken ({'; '.join(broken)}): rebuilding it")
            self.down()
            state = {}
        self._check_range_free()
        if state or network.lab_namespaces(self.plan) or network.link_exists(self.plan.bridge):
            step("cleaning up what a previous run left")
            self.down()
        step(f"lab {self.name}: {self.cidr}, state in {self.dir}")
        if self.plan.kolla and not kolla.available():
            raise LabError("--style kolla needs podman and crun (./bootstrap.sh setup "
                           "installs them)")
        if self.plan.pacemaker and (why := pacemaker.missing()):
            raise LabError(f"--style pacemaker: {why}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_state("starting")
        admin_password, bmc_password = self._secrets()
        service_secrets = Secrets.load(self.plan)

        keystone.write_config(self.plan, service_secrets.database)
        keystone.make_key_repositories(self.plan)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
        database_ready = pool.submit(mariadb.prepare, self.plan, service_secrets.database)
        full_secrets = None
        if self.plan.full:
            full_secrets = full_profile.prepare(self.plan)
            step("full profile: RabbitMQ, Placement, Nova and Cinder configs")
        host_keys = self._ssh_keys(pool)
        step("ssh: lab key and host keys")

        network.create_bridge(self.plan)
        for node in self.plan.nodes:
            network.create_node(self.plan, node)
            for vm in node.vms:
                vms.create(self.plan, node, vm)
        step(f"network: bridge {self.plan.bridge}, {len(self.plan.nodes)} nodes, "
             f"{len(self.plan.vms)} VMs, routes")

        database_ready.result()
        step("galera: data directories, the first member's system tables")
        files.hactl_wrapper(self.plan, sys.executable)
        for node in self.plan.nodes:
            self._write_node(node)
        self._start_hypervisor()
        step("nodes configured; hypervisor running")

        # Keystone needs its database only to answer requests, not to start: its schema is
        # created through the VIP once the first Galera member answers, while the others join.
        for node in self.plan.nodes:
            self.power(node.name).on()
        step("nodes booted")
        if self.plan.pacemaker:
            controller = self.plan.controllers[0]
            pacemaker.configure(self.plan, haproxy.HAPROXY,
                                lambda argv: self.node_command(controller.name, argv))
            if not wait_until(self.vip_holder, timeout=UP_TIMEOUT, interval=0.5):
                raise LabError(f"Pacemaker did not start the VIP {self.plan.vip}; see "
                               f"{self.dir}/nodes/ctl*/log/pacemaker.log")
            step(f"pacemaker: {len(self.plan.controllers)} controllers online, HAProxy cloned, "
                 f"VIP on {self.vip_holder()}")
        self._bootstrap_keystone(admin_password, service_secrets.database, step)
        step("keystone: db_sync and bootstrap through the VIP")

        known = [f"{n.mgmt_ip} {host_keys[n.name]}" for n in self.plan.nodes]
        (self.dir / "ssh" / "known_hosts").write_text("\n".join(known) + "\n")
        files.write_all(self.plan, admin_password, bmc_password)
        step("inventory.yaml, clouds.yaml, pod.yaml, openrc written")

        if bmc.available():
            bmc.write_config(self.plan)
            bmc.start(self.plan)
            step(f"virtual BMCs on {self.plan.nodes[0].bmc_ip}..{self.plan.nodes[-1].bmc_ip}"
                 f":{BMC_PORT}")
        else:
            step("virtual BMCs skipped: ha_tests/lab/vbmc.py is missing")

        self._wait_ready(admin_password, step)
        if not self._galera_formed(lambda: mariadb.cluster_whole(
                self.plan, service_secrets.database), service_secrets.database, step):
            tails = mariadb.log_tails(self.plan, (service_secrets.database, admin_password))
            raise LabError(f"the Galera cluster did not reach {len(mariadb.members(self.plan))}"
                           f" synced members within {CLUSTER_TIMEOUT:.0f} s; the members' logs "
                           f"({self.dir}/nodes/ctl*/log/mariadb-error.log) end:\n  {tails}")
        step(f"galera: {len(mariadb.members(self.plan))} members synced")
        if full_secrets is not None:
            if not wait_until(lambda: rabbitmq.cluster_whole(self.plan),
                              timeout=CLUSTER_TIMEOUT, interval=1):
                raise LabError(f"the RabbitMQ brokers did not form one cluster of "
                               f"{len(rabbitmq.members(self.plan))} within "
                               f"{CLUSTER_TIMEOUT:.0f} s; see "
                               f"{self.dir}/nodes/ctl*/log/rabbitmq-server.log")
            step(f"rabbitmq: {len(rabbitmq.members(self.plan))} brokers in one cluster")
            servers = full_profile.set_up(self.plan, admin_password, full_secrets, pool, step)
            files.write_all(self.plan, admin_password, bmc_password, servers,
                            rabbitmq.transport_url(self.plan, full_secrets.bus))
            step("inventory.yaml lists the Nova guests beside the lab's VMs")
        pool.shutdown()
        self._write_state("up", up_seconds=round(time.monotonic() - started, 1))
        step(f"lab {self.name} is up; VIP {self.plan.vip} held by {self.vip_holder()}")
        return True

    def _galera_formed(self, formed: Callable[[], object], database_password: str,
                       step: Callable[[str], None]) -> object:
        """Wait for ``formed``; if no member has reached a primary component after
        FORM_TIMEOUT (a bootstrap that died under the members joining it leaves them all in
        a non-primary view, waiting for each other), reform the cluster as an operator
        would (``mariadb.reform``) and wait again."""
        value = wait_until(formed, timeout=FORM_TIMEOUT, interval=0.5)
        if value or mariadb.has_primary(self.plan, database_password):
            return value or wait_until(formed, timeout=CLUSTER_TIMEOUT, interval=1)
        step(f"galera: no member in a primary component after {FORM_TIMEOUT:.0f} s: "
             "reforming the cluster")
        step(f"galera: {mariadb.reform(self.plan)}")
        return wait_until(formed, timeout=CLUSTER_TIMEOUT, interval=1)

    def _bootstrap_keystone(self, admin_password: str, database_password: str,
                            step: Callable[[str], None]) -> None:
        last_error = []

        def database_answers():
            try:
                return mariadb.cluster_status(self.plan, database_password)
            except Exception as error:  # pymysql's errors while the first member starts
                last_error[:] = [error]
                return None

        if not self._galera_formed(database_answers, database_password, step):
            raise LabError(f"the database does not answer through the VIP {self.plan.vip} "
                           f"({last_error[0] if last_error else 'no answer'}); the members' logs "
                           f"({self.dir}/nodes/ctl*/log/mariadb-error.log) end:\n  "
                           f"{mariadb.log_tails(self.plan, (database_password, admin_password))}")
        keystone.bootstrap(self.plan, admin_password)

    def _check_range_free(self) -> None:
        """Refuse a range another interface already uses (another lab, a real network)."""
        listing = ip("-o", "-4", "addr", "show", check=False).stdout
        for line in listing.split("\n"):
            fields = line.split()
            if len(fields) > 3 and fields[3].split("/")[0] == self.plan.host_ip \
                    and fields[1] != self.plan.bridge:
                raise LabError(f"{self.plan.host_ip} is already on {fields[1]}: range "
                               f"{self.cidr} is in use; choose another with --cidr")

    def _write_state(self, state: str, **extra) -> None:
        data = {"name": self.name, "cidr": self.cidr, "state": state, "time": time.time(),
                "computes": len(self.plan.computes), "profile": self.plan.profile,
                "style": self.plan.style}
        data.update(extra)
        self._state_path.write_text(json.dumps(data, indent=2) + "\n")

    def _secrets(self) -> tuple[str, str]:
        directory = self.dir / "secrets"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        values = []
        # Letters and digits only (never a leading "-" that a command line would take for an
        # option); IPMI passwords are at most 20 bytes; ipmitool -f wants no newline.
        alphabet = string.ascii_letters + string.digits
        for name, length in (("admin-password", 24), ("bmc-password", 16),
                             ("ssh-password", 20)):
            path = directory / name
            if not path.exists():
                write_secret(path, "".join(secrets.choice(alphabet) for _ in range(length)))
            values.append(read_secret(path))
        return values[0], values[1]

    @property
    def ssh_password(self) -> str:
        """Root's password on every node (sshd.py), for inventories that give a password."""
        return read_secret(self.dir / "secrets" / "ssh-password")

    @property
    def shadow_path(self) -> Path:
        return self.dir / "ssh" / "shadow"

    def _ssh_keys(self, pool) -> dict[str, str]:
        ssh_dir = self.dir / "ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for node in self.plan.nodes:
            self.plan.node_dir(node.name).mkdir(parents=True, exist_ok=True)
        jobs = {n.name: pool.submit(sshd.make_key, self.plan.node_dir(n.name)
                                    / "ssh_host_ed25519_key", f"{n.name}@{self.name}")
                for n in self.plan.nodes}
        user_key = sshd.make_key(ssh_dir / "id_ed25519", f"ha-tests-lab@{self.name}")
        (ssh_dir / "authorized_keys").write_text(user_key + "\n")
        sshd.write_shadow(self.shadow_path, self.ssh_password)
        return {name: " ".join(job.result().split()[:2]) for name, job in jobs.items()}

    def _write_node(self, node: NodePlan) -> None:
        """The node's description: what its PID 1 boots, and how its power is switched."""
        node_dir = self.plan.node_dir(node.name)
        (node_dir / "log").mkdir(parents=True, exist_ok=True)
        (node_dir / "sshd_config").write_text(
            sshd.config(node_dir, self.dir / "ssh" / "authorized_keys"))
        services = [sshd.service(node_dir)]
        masks: list[dict] = []
        empty = node_dir / "empty-dotfile"  # masks the host's ~/.bashrc inside the node
        empty.write_text("")
        interfaces = {MGMT_IF: [f"{node.mgmt_ip}/24"]}
        sysctls = {}
        if node.is_controller:
            (node_dir / "haproxy.cfg").write_text(haproxy.config(self.plan, node, node_dir))
            services += [mariadb.service(self.plan, node),
                         mariadb.clustercheck_service(self.plan, node), memcached.service(node),
                         keystone.service(self.plan, node)]
            if self.plan.pacemaker:  # Pacemaker runs HAProxy and holds the VIP
                masks += pacemaker.prepare(self.plan, node, node_dir)
                services += pacemaker.services()
            else:
                (node_dir / "keepalived.conf").write_text(keepalived.config(self.plan, node))
                services += [haproxy.service(node_dir), keepalived.service(node_dir)]
            if self.plan.full:
                services += full_profile.services(self.plan, node)
            sysctls["net/ipv4/ip_nonlocal_bind"] = "1"
        else:
            for vm in node.vms:
                interfaces[vm.host_if] = [f"{vm.gateway}/24"]
            sysctls["net/ipv4/ip_forward"] = "1"
            if self.plan.full:
                services += full_profile.services(self.plan, node)
        containers: dict = {}
        if self.plan.kolla:
            containers = kolla.node_spec(self.plan, node, services)
            services = containers.pop("services")
        spec = {
            "name": node.name, "lab": self.name, "role": node.role,
            "netns": node.netns, "host_link": node.host_link, "dir": str(node_dir),
            "socket": str(self.plan.hactl_socket(node.name)), "run_dir": str(node_dir / "run"),
            "python": sys.executable,
            "network": {"interfaces": interfaces, "sysctls": sysctls},
            "directories": ["/run/sshd"],
            "masks": [{"path": str(Path.home() / ".bashrc"), "source": str(empty)},
                      {"path": str(sshd.HOST_SHADOW), "source": str(self.shadow_path)},
                      *masks, *containers.pop("masks", [])],
            "services": services,
            **containers,
        }
        (node_dir / "node.json").write_text(json.dumps(spec, indent=2) + "\n")

    def _start_hypervisor(self) -> None:
        if self._hypervisor_pid():
            return
        log = open(self.dir / "hypervisor.log", "ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "ha_tests.lab.hypervisor", "--lab-dir", str(self.dir)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        _children[str(self.dir)] = child
        if not wait_until(self._hypervisor_pid, timeout=10):
            raise LabError(f"the lab hypervisor did not start; see {self.dir}/hypervisor.log")

    def _hypervisor_pid(self) -> int | None:
        try:
            pid = int(hypervisor.pid_path(self.dir).read_text())
        except (OSError, ValueError):
            return None
        line = cmdline(pid)
        if "ha_tests.lab.hypervisor" in line and str(self.dir) in line \
                and hypervisor.socket_path(self.dir).exists():
            return pid
        return None

    def _wait_ready(self, password: str, step) -> None:
        def keystone_answers():
            try:
                return keystone.issue_token(self.plan.auth_url, password, timeout=3)[0]
            except OSError:
                return None

        if not wait_until(keystone_answers, timeout=UP_TIMEOUT, interval=0.5):
            raise LabError(f"Keystone does not answer through the VIP {self.plan.auth_url}; "
                           f"see {self.dir}/nodes/ctl*/log/")
        step(f"keystone answers through the VIP ({self.plan.auth_url})")
        for node in self.plan.nodes:
            if not wait_until(lambda n=node: ssh_banner(n.mgmt_ip), timeout=30, interval=0.2):
                raise LabError(f"sshd on {node.name} ({node.mgmt_ip}) does not answer")
        step("sshd answers on every node")
        for vm in self.plan.vms:
            if not wait_until(lambda v=vm: vms.ping(v.address), timeout=15, interval=0.2):
                raise LabError(f"VM {vm.name} ({vm.address}) does not answer ping")
        step("every VM answers ping")

    # -- down -----------------------------------------------------------------------------------
    def down(self) -> list[str]:
        """Remove every process, namespace, link, route, address and file of the lab."""
        require_root()
        removed = []
        if bmc.stop(self.plan):
            removed.append("virtual BMC daemon")
        namespaces = network.lab_namespaces(self.plan)
        for _ in range(3):  # nodes first: killing a PID 1 kills its node
            pids = [pid for ns in namespaces for pid in netns_pids(ns)]
            if not pids:
                break
            for pid in pids:
                kill(pid, signal.SIGKILL)
            wait_until(lambda: not any(netns_pids(ns) for ns in namespaces), timeout=5)
        if namespaces:
            removed.append(f"processes of {len(namespaces)} namespaces")
        for pid in self._leftover_processes():
            kill(pid, signal.SIGTERM if "hypervisor" in cmdline(pid) else signal.SIGKILL)
            wait_until(lambda p=pid: not alive(p), timeout=5)
            kill(pid, signal.SIGKILL)
            removed.append(f"process {pid}")
        child = _children.pop(str(self.dir), None)
        if child is not None:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        removed += network.remove(self.plan)
        cgroups = kolla.remove_cgroups(self.plan)
        if cgroups:
            removed.append(f"cgroups of {len(cgroups)} containers")
        if self.dir.exists():
            shutil.rmtree(self.dir)
            removed.append(f"directory {self.dir}")
        return removed

    def _leftover_processes(self) -> list[int]:
        """Lab processes outside the namespaces (hypervisor, vbmc), found by their lab dir."""
        # the lab's directory as a whole path: lab "hko" must not find lab "hkof"'s processes
        marker = re.compile(re.escape(str(self.dir)) + r"(/|\s|$)")
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                line = cmdline(int(entry))
                if marker.search(line) and "ha_tests.lab." in line and alive(int(entry)):
                    found.append(int(entry))
        return found

    # -- status ---------------------------------------------------------------------------------
    def node_command(self, node: str, argv: list[str],
                     timeout: float = 60) -> subprocess.CompletedProcess:
        """Run argv inside a node (its network, mount and PID namespaces), as its own
        processes see the node; LabError when the node is off."""
        found = self.power(node).init_process()
        if not found:
            raise LabError(f"node {node} is off")
        return subprocess.run(["nsenter", "-t", str(found[0]), "-m", "-n", "-p", "--", *argv],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def vip_holder(self) -> str | None:
        for node in self.plan.controllers:
            result = ip("-n", node.netns, "-o", "-4", "addr", "show", "dev", MGMT_IF,
                        check=False)
            if f" {self.plan.vip}/" in result.stdout:
                if NodePower(node.name, self.dir).state():
                    return node.name
        return None

    def services(self, node: str) -> dict[str, str]:
        """Service name -> state, from the node's PID 1 ({} when the node is off)."""
        try:
            # a kolla-style node asks podman for its containers: slower on a loaded machine
            rc, text = hactl.request(self.plan.hactl_socket(node), "list",
                                     timeout=30 if self.plan.kolla else 5)
        except (OSError, ValueError):
            return {}
        return {item["name"]: item["state"] for item in json.loads(text)} if rc == 0 else {}

    def processes(self) -> list[int]:
        pids = [pid for ns in network.lab_namespaces(self.plan) for pid in netns_pids(ns)]
        return sorted(set(pids + self._leftover_processes()))

    def memory(self) -> dict:
        pids = self.processes()
        return {"processes": len(pids),
                "rss_mib": round(sum(rss_kib(p) for p in pids) / 1024, 1),
                "pss_mib": round(sum(pss_kib(p) for p in pids) / 1024, 1)}

    def status(self, bmc_query: bool = True) -> dict:
        state = self._state()
        result = {"name": self.name, "cidr": self.cidr, "dir": str(self.dir),
                  "up": self.is_up(), "state": state.get("state", "absent"),
                  "up_seconds": state.get("up_seconds"), "vip": self.plan.vip,
                  "vip_holder": None, "nodes": [], "vms": [], "bmc": None}
        if not self.dir.exists():
            return result
        result["vip_holder"] = self.vip_holder()
        bmc_pid = bmc.running_pid(self.plan)
        result["bmc"] = {"running": bmc_pid is not None, "pid": bmc_pid}
        for node in self.plan.nodes:
            try:
                powered = NodePower(node.name, self.dir).state()
            except LabError:
                powered = False
            entry = {"name": node.name, "role": node.role, "address": node.mgmt_ip,
                     "power": "on" if powered else "off",
                     "services": self.services(node.name) if powered else {},
                     "bmc_address": node.bmc_ip, "bmc_power": None}
            if bmc_query and bmc_pid is not None:
                entry["bmc_power"] = bmc.power_state(self.plan, node.bmc_ip)
            result["nodes"].append(entry)
        for vm in self.plan.vms:
            result["vms"].append({"name": vm.name, "host": vm.host, "address": vm.address,
                                  "ping": vms.ping(vm.address)})
        result["memory"] = self.memory()
        return result


def ssh_banner(address: str, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False
