"""Observing the lab from outside, as an operator would: /proc, ping, SSH, HTTP."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error

import paramiko

from ha_tests.discovery import load_catalog
from ha_tests.inventory import load_inventory
from ha_tests.lab import keystone, mariadb, rabbitmq
from ha_tests.lab.openstack import Secrets
from ha_tests.lab.system import alive, cmdline, netns_pids, nspids


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def node_processes(lab, node: str) -> dict[int, str]:
    """Host PID -> command line of every process inside the node's PID namespace."""
    netns = lab.plan.node(node).netns
    return {pid: cmdline(pid) for pid in netns_pids(netns) if len(nspids(pid)) > 1}


def service_pids(lab, node: str, service: str) -> list[int]:
    """Processes of a service, found with the inventory's own regex."""
    regex = re.compile(load_inventory(lab.inventory_path).services[service].process)
    return [pid for pid, line in node_processes(lab, node).items()
            if regex.search(line) and alive(pid)]


def ping(address: str, count: int = 1, wait: int = 1) -> bool:
    return subprocess.run(["ping", "-n", "-q", "-c", str(count), "-W", str(wait), address],
                          capture_output=True).returncode == 0


#: How long one token request may take while the cloud fails over: each Keystone's cache
#: accesses that hash to a lost controller's memcached wait out ``memcache_socket_timeout``
#: (1 s) before it is marked dead, several per request, and a request sent while the VIP
#: moves waits for SYN retransmits; measured up to 9 s on a quiet host. A shorter client
#: timeout makes a slow but served request look like an outage (a timed assertion).
FAILOVER_REQUEST_TIMEOUT = 30.0


def token(lab, timeout: float = 3.0):
    return keystone.issue_token(lab.plan.auth_url, lab.admin_password, timeout=timeout)


def api_ok(lab, timeout: float = 3.0):
    """Headers (case-insensitive) of a token request through the VIP; None on failure.
    After a fault, pass ``timeout=FAILOVER_REQUEST_TIMEOUT``: the question is whether the
    API answers, not how fast."""
    try:
        return token(lab, timeout=timeout)[1]
    except (OSError, urllib.error.HTTPError):
        return None


def ssh(lab, node: str, command: str, timeout: float = 10.0) -> tuple[int, str]:
    """Run a command on a node over real SSH, host key verified against known_hosts."""
    inventory = load_inventory(lab.inventory_path)
    settings = inventory.ssh_for(inventory.node(node))
    client = paramiko.SSHClient()
    client.load_host_keys(settings.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(inventory.node(node).address, username=settings.user,
                   key_filename=settings.key_file, timeout=timeout, allow_agent=False,
                   look_for_keys=False)
    try:
        _, stdout, _ = client.exec_command(command, timeout=timeout)
        output = stdout.read().decode()
        return stdout.channel.recv_exit_status(), output
    finally:
        client.close()


def galera_whole(lab) -> bool:
    """Every Galera member synced in one primary cluster of all of them: a member whose
    process runs may still be rejoining (IST or SST), and a test that takes out another
    member or the donor meanwhile takes the cluster below quorum."""
    return mariadb.cluster_whole(lab.plan, Secrets.load(lab.plan).database)


def rabbit_whole(lab) -> bool:
    """The full profile's three brokers running in one cluster (True without a bus): a broker
    whose process runs may still be booting or rejoining, and a fault on another one meanwhile
    leaves the quorum queues without a majority."""
    return not lab.plan.full or rabbitmq.cluster_whole(lab.plan)


def unhealthy(lab) -> str:
    """What keeps the lab from being healthy, in words ("" when it is): every node on, every
    service running, every Galera member synced, every RabbitMQ broker in the cluster, the
    VIP held, the API answering. A test that finds the lab broken says which of these."""
    status = lab.status(bmc_query=False)
    wrong = [f"{n['name']}: power {n['power']}" for n in status["nodes"] if n["power"] != "on"]
    wrong += [f"{n['name']}: no services listed" for n in status["nodes"]
              if n["power"] == "on" and not n["services"]]
    wrong += [f"{n['name']}: {service} {state}" for n in status["nodes"]
              for service, state in sorted((n["services"] or {}).items()) if state != "running"]
    if status["vip_holder"] is None:
        wrong.append("no node holds the VIP")
    if not wrong:
        if not galera_whole(lab):
            wrong.append("Galera is not one synced cluster of every member")
        if not rabbit_whole(lab):
            wrong.append("RabbitMQ is not one cluster of every broker")
        if api_ok(lab) is None:
            wrong.append("the API does not answer through the VIP")
    return "; ".join(wrong)


def healthy(lab) -> bool:
    """Every node on, every service running, every Galera member synced, every RabbitMQ
    broker in the cluster, the VIP held, the API answering."""
    return not unhealthy(lab)


def api_steady(lab, times: int = 6) -> bool:
    """The API answers through the VIP several times in a row: after a partition heals the
    VIP can stay unreachable for a while (docs/lab.rst, Limits), so one answer is not enough
    to start the next fault from a steady state."""
    for _ in range(times):
        if api_ok(lab) is None:
            return False
        time.sleep(0.5)
    return True


def what_runs(lab) -> dict[str, set[str]]:
    """Catalogue name -> nodes, from each node's PID 1 (its own services and containers):
    the truth discovery must match."""
    catalog = load_catalog()
    by_name = {}
    for name, entry in catalog:
        by_name.update({unit: name for unit in entry.units})
        by_name.update({c: name for c in entry.containers})
    truth: dict[str, set[str]] = {}
    for node in lab.plan.nodes:
        services = lab.services(node.name)
        assert services, f"{node.name}: its PID 1 did not list its services"
        for service in services:
            if service in by_name:  # the catalogue has no entry for Galera's clustercheck
                truth.setdefault(by_name[service], set()).add(node.name)
    return truth
