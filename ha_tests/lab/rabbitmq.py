"""RabbitMQ for the full lab profile: the message bus of Nova and Cinder.

A broker on every controller, each standalone, reached through the VIP: HAProxy sends every
connection to the first broker, moves them all to a backup when it fails and all back when it
returns, so the services reconnect and redeclare their queues together, as they do when a
clustered broker dies (a bus split between two brokers would lose every RPC crossing it:
``kill-rabbitmq-server`` found that with a stick table). Messages in flight on a broker that
dies are lost, as with non-mirrored queues. A RabbitMQ cluster (Erlang distribution between
the controllers) is the production alternative; docs/lab.rst says what this lab does instead.

The broker runs in the foreground as the node's root with its own Erlang cookie, Mnesia
directory and configuration in the node's directory; the host's /etc/rabbitmq is ignored.
The account of the OpenStack services comes from a definitions file loaded at boot (the
password is stored salted and hashed, as RabbitMQ itself stores it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from ha_tests.lab.plan import RABBIT_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError, write_secret

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
PROCESS_REGEX = r"beam\.smp .* -s rabbit boot"
USER = "openstack"


def transport_url(plan: LabPlan, password: str) -> str:
    return f"rabbit://{USER}:{password}@{plan.vip}:{RABBIT_PORT}/"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def home(plan: LabPlan, host: NodePlan) -> Path:
    return plan.node_dir(host.name) / "rabbitmq"


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
    (directory / "rabbitmq.conf").write_text(f"""\
# RabbitMQ of {host.name} in lab {plan.name}, written by ha-tests lab
listeners.tcp.default = {host.mgmt_ip}:{RABBIT_PORT}
loopback_users = none
load_definitions = {directory}/definitions.json
log.console = true
log.console.level = warning
log.file = false
""")
    (directory / "enabled_plugins").write_text("[].\n")


def service(plan: LabPlan, host: NodePlan) -> dict:
    if not Path(SERVER).exists():
        raise LabError(f"{SERVER} is missing: the full profile needs Debian's "
                       "rabbitmq-server (./bootstrap.sh setup installs it)")
    directory = home(plan, host)
    return {"name": "rabbitmq-server", "path": SERVER, "argv": [SERVER],
            "cwd": str(directory),
            "env": {"HOME": str(directory), "RABBITMQ_CONF_ENV_FILE": "/dev/null",
                    "RABBITMQ_NODENAME": "rabbit@localhost",
                    "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(plan.node_dir(host.name) / "log"),
                    "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
                    "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
                    # one scheduler: the lab's bus is small and the host has 2 cores
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "+S 1:1 +A 4"}}
