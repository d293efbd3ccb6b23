"""RabbitMQ for the full lab profile: one cluster of three brokers, the bus of Nova and Cinder.

As kolla-ansible and TripleO run it: a broker on every controller, the three clustered over
Erlang distribution (one Erlang cookie, node names ``rabbit@ctl1``.. that resolve in every
node through an ``inetrc`` of the controllers' addresses), the services' queues quorum
queues replicated on all three (oslo.messaging's ``rabbit_quorum_queue`` and its transient
and stream companions), and each service's ``transport_url`` listing the three brokers
directly, no HAProxy in between: when a broker dies only its own connections move, each
client to another broker of the same cluster, where its queues still are.

The cluster forms at first start by the classic config peer discovery (every broker lists the
three); ``rabbitmq_member.py`` starts the first controller's broker at once and holds a blank
other one until a broker of the cluster answers, so that none forms a cluster of its own. A
broker restarted after a kill or a power-off has its database, and rejoins the cluster it
names. ``pause_minority`` is kolla's partition handling: a broker cut off from the other two
stops serving rather than diverge.

Each broker runs in the foreground as the node's root with its cookie, Mnesia directory and
configuration in the node's directory; the host's /etc/rabbitmq is ignored. The account of
the OpenStack services comes from a definitions file loaded at boot (the password is stored
salted and hashed, as RabbitMQ itself stores it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ha_tests.lab.openstack import python_env
from ha_tests.lab.plan import RABBIT_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError, read_secret, write_secret

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
PROCESS_REGEX = r"beam\.smp .* -s rabbit boot"
USER = "openstack"
#: Erlang distribution between the brokers (RabbitMQ's default, AMQP port + 20000)
DIST_PORT = RABBIT_PORT + 20000
#: the Raft write-ahead log of the quorum queues, in memory until flushed (default 512 MiB)
WAL_MAX_BYTES = 32 * 1024 * 1024


def members(plan: LabPlan) -> list[NodePlan]:
    return plan.controllers


def node_name(host: NodePlan) -> str:
    return f"rabbit@{host.name}"


def transport_url(plan: LabPlan, password: str) -> str:
    """All three brokers, as kolla-ansible and TripleO write it: oslo.messaging connects to
    one and fails over to the next."""
    hosts = ",".join(f"{USER}:{password}@{m.mgmt_ip}:{RABBIT_PORT}" for m in members(plan))
    return f"rabbit://{hosts}/"


def oslo_messaging_section(plan: LabPlan, node: NodePlan | None) -> str:
    """``[oslo_messaging_rabbit]`` of every service: quorum queues for RPC and notifications,
    the transient (reply, fanout) ones too, with stable names (the queue manager) so that a
    restarted service reuses its queues instead of leaving durable ones behind; fanout by
    streams (whose consumers need a prefetch count), as kolla-ansible configures
    oslo.messaging for RabbitMQ clusters. The queue manager counts in
    ``/dev/shm/<hostname>_<process>_qmanager``, and the lab's nodes share the host's
    /dev/shm with every other lab: ``hostname`` names the lab too, so that two labs' (or
    two nodes') processes never share a counter and a reply queue."""
    return f"""\
[oslo_messaging_rabbit]
kombu_failover_strategy = round-robin
amqp_durable_queues = true
rabbit_quorum_queue = true
rabbit_transient_quorum_queue = true
use_queue_manager = true
hostname = {plan.name}-{node.name if node else "host"}
rabbit_stream_fanout = true
rabbit_qos_prefetch_count = 1
"""


def password_hash(password: str, salt: bytes | None = None) -> str:
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def home(plan: LabPlan, host: NodePlan) -> Path:
    return plan.node_dir(host.name) / "rabbitmq"


def database_dir(plan: LabPlan, host: NodePlan) -> Path:
    """The broker's Mnesia database (and its quorum queues' Raft logs): blank until its first
    start, then what makes a restart rejoin the cluster."""
    return home(plan, host) / "mnesia" / node_name(host)


def inetrc(plan: LabPlan) -> Path:
    return plan.dir / "rabbitmq-inetrc"


def inetrc_text(plan: LabPlan) -> str:
    """Erlang's own host table: ``ctl1``.. resolve to the controllers in every node without
    touching /etc/hosts."""
    lines = [f"{{host, {{{m.mgmt_ip.replace('.', ',')}}}, [\"{m.name}\"]}}."
             for m in members(plan)]
    return "\n".join([*lines, "{lookup, [file, native]}.", ""])


def cookie_path(plan: LabPlan) -> Path:
    return plan.dir / "secrets" / "erlang-cookie"


def cookie(plan: LabPlan) -> str:
    """The cluster's shared Erlang cookie, generated once per lab (a secret: whoever has it
    controls every broker)."""
    path = cookie_path(plan)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_secret(path, base64.b32encode(os.urandom(20)).decode())
    return read_secret(path)


def config_text(plan: LabPlan, host: NodePlan, directory: Path) -> str:
    peers = "\n".join(f"cluster_formation.classic_config.nodes.{i} = {node_name(m)}"
                      for i, m in enumerate(members(plan), start=1))
    return f"""\
# RabbitMQ of {host.name} in lab {plan.name}, written by ha-tests lab
listeners.tcp.default = {host.mgmt_ip}:{RABBIT_PORT}
loopback_users = none
load_definitions = {directory}/definitions.json
cluster_name = {plan.name}
cluster_formation.peer_discovery_backend = classic_config
{peers}
cluster_partition_handling = pause_minority
raft.wal_max_size_bytes = {WAL_MAX_BYTES}
log.console = true
log.console.level = warning
log.file = false
"""


def prepare(plan: LabPlan, host: NodePlan, password: str) -> None:
    directory = home(plan, host)
    (directory / "mnesia").mkdir(parents=True, exist_ok=True)
    definitions = {
        "users": [{"name": USER, "password_hash": password_hash(password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256",
                   "tags": ["administrator"]}],
        "vhosts": [{"name": "/"}],
        "permissions": [{"user": USER, "vhost": "/", "configure": ".*", "write": ".*",
                         "read": ".*"}],
    }
    write_secret(directory / "definitions.json", json.dumps(definitions, indent=2) + "\n")
    write_secret(directory / ".erlang.cookie", cookie(plan))  # Erlang wants it owner-only
    inetrc(plan).write_text(inetrc_text(plan))
    (directory / "rabbitmq.conf").write_text(config_text(plan, host, directory))
    (directory / "enabled_plugins").write_text("[].\n")


def environment(plan: LabPlan, host: NodePlan) -> dict[str, str]:
    """What the broker and ``rabbitmqctl`` share: the cookie (in HOME), the node name, the
    host table, and no host-wide RabbitMQ configuration."""
    directory = home(plan, host)
    return {"HOME": str(directory), "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            "RABBITMQ_NODENAME": node_name(host), "ERL_INETRC": str(inetrc(plan)),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins")}


def service(plan: LabPlan, host: NodePlan) -> dict:
    """The broker as the node's PID 1 supervises it: ``rabbitmq_member`` holds a blank broker
    until the cluster answers, then execs ``rabbitmq-server`` (the supervised PID stays the
    broker's)."""
    if not Path(SERVER).exists():
        raise LabError(f"{SERVER} is missing: the full profile needs Debian's "
                       "rabbitmq-server (./bootstrap.sh setup installs it)")
    directory = home(plan, host)
    others = [m for m in members(plan) if m != host]
    argv = ["rabbitmq-member", "-m", "ha_tests.lab.rabbitmq_member",
            "--database", str(database_dir(plan, host))]
    if host != members(plan)[0]:
        argv += [a for m in others for a in ("--peer", f"{m.mgmt_ip}:{RABBIT_PORT}")]
    return {"name": "rabbitmq-server", "path": sys.executable,
            "argv": [*argv, "--", SERVER],
            "cwd": str(directory),
            "env": {**python_env(), **environment(plan, host),
                    "RABBITMQ_LOG_BASE": str(plan.node_dir(host.name) / "log"),
                    # as under systemd, the script execs the VM: without it the script runs
                    # the VM as a child and exits 0 when it is SIGKILLed, which the node's
                    # supervisor (Restart=on-failure) takes for a clean stop, never restarting
                    "RUNNING_UNDER_SYSTEMD": "true",
                    # one scheduler: the lab's bus is small and the host has 2 cores
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+S 1:1 +A 4"}}


def ctl(plan: LabPlan, host: NodePlan, *args: str, timeout: float = 60.0
        ) -> subprocess.CompletedProcess:
    """``rabbitmqctl -n rabbit@ctlN ARGS`` in the node's network namespace, as an operator
    on that controller runs it."""
    return subprocess.run(["ip", "netns", "exec", host.netns, CTL, "-n", node_name(host),
                           *args], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                        **environment(plan, host)},
                          capture_output=True, text=True, timeout=timeout)


def cluster_status(plan: LabPlan, host: NodePlan, timeout: float = 60.0) -> dict | None:
    """``rabbitmqctl cluster_status`` of the broker on ``host`` (running_nodes, disk_nodes,
    partitions...); None when it does not answer."""
    try:
        done = ctl(plan, host, "cluster_status", "--formatter", "json", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    try:
        return json.loads(done.stdout)
    except ValueError:
        return None


def cluster_whole(plan: LabPlan) -> bool:
    """The first broker that answers sees all three running in one cluster, none partitioned
    (False while the cluster forms or a broker rejoins). One broker's view is enough: a
    running node lists the nodes it is connected to, and a split shows as a partition.
    Asking one is also what it costs: ``rabbitmqctl`` boots an Erlang VM, about 1 s of CPU
    (30-50 s on this 2-core host at load 30)."""
    wanted = {node_name(m) for m in members(plan)}
    for host in members(plan):
        status = cluster_status(plan, host)
        if status is not None:
            return (set(status.get("running_nodes", ())) == wanted
                    and not any(status.get("partitions") or ()))
    return False


def quorum_queues(plan: LabPlan, host: NodePlan | None = None) -> dict[str, list[str]]:
    """Quorum queue name -> its members (broker node names), as the broker on ``host`` (the
    first controller by default) lists them."""
    done = ctl(plan, host or members(plan)[0], "list_queues", "name", "type", "members",
               "--formatter", "json", "--quiet")
    if done.returncode != 0:
        raise LabError(f"rabbitmqctl list_queues failed: {done.stderr.strip()[-500:]}")
    return {q["name"]: list(q.get("members") or ()) for q in json.loads(done.stdout)
            if q.get("type") == "quorum"}
