"""Real Keystone for the lab: one identity service behind the VIP, served by each controller.

Fernet tokens, with the fernet and credential key repositories shared by the three
controllers (as a deployment tool would sync them), so a token issued by one controller
validates on the others. The three share the lab's Galera cluster through the VIP
(``mariadb.py``) and cache in the controllers' memcached (``memcached.py``), as deployments
run them: a Keystone database that locks under concurrent writes (SQLite, before) makes
outages of its own that a fault-injection run would blame on its fault.
"""

from __future__ import annotations

import base64
import os
import sys
import sysconfig
from email.message import Message
from pathlib import Path

import ha_tests
from ha_tests.lab import mariadb, memcached
from ha_tests.lab.plan import ADMIN_USER, KEYSTONE_PORT, REGION, LabPlan, NodePlan
from ha_tests.lab.system import run, write_secret

PROCESS_NAME = "keystone-wsgi-public"
PROCESS_REGEX = r"^keystone-wsgi-public "


def keystone_dir(plan: LabPlan) -> Path:
    return plan.dir / "keystone"


def config_path(plan: LabPlan) -> Path:
    return keystone_dir(plan) / "keystone.conf"


def write_config(plan: LabPlan, database_password: str) -> Path:
    """keystone.conf (mode 0600: it holds the database password)."""
    kdir = keystone_dir(plan)
    kdir.mkdir(parents=True, exist_ok=True)
    path = config_path(plan)
    write_secret(path, f"""\
# Keystone of lab {plan.name}, written by ha-tests lab
[DEFAULT]
use_stderr = true
debug = false

[database]
connection = {mariadb.url(plan, database_password, "keystone")}
# a member that fails under an open connection: reconnect and retry, as oslo.db does for
# every OpenStack service
max_retries = -1
db_max_retries = 20
connection_recycle_time = 600

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = {kdir}/fernet-keys
max_active_keys = 3

[fernet_receipts]
key_repository = {kdir}/fernet-keys
max_active_keys = 3

[credential]
key_repository = {kdir}/credential-keys

[cache]
# As deployments cache: one memcached per controller, every Keystone listing all three, so
# tokens and revocations are cached too (a revocation invalidates the shared cache).
enabled = true
backend = oslo_cache.memcache_pool
memcache_servers = {",".join(memcached.servers(plan))}
# 3 s, not oslo.cache's 1 s: a Keystone that times out marks the server dead for
# dead_retry and hashes its keys elsewhere while the others do not, and reads stale
# entries; a loaded lab host's scheduling stall must not do that (docs/lab.rst, Limits)
memcache_socket_timeout = 3
memcache_dead_retry = 30
expiration_time = 600

[identity]
# bcrypt's default cost (12 rounds, 0.3 s of CPU per password check) would make every
# token request slow on a loaded 2-CPU lab host and blur the outages being measured.
# The lab's passwords are generated and short-lived.
password_hash_rounds = 4
""")
    return path


def make_key_repositories(plan: LabPlan) -> None:
    """What ``keystone-manage fernet_setup`` and ``credential_setup`` make, without the
    seconds each of them spends importing Keystone: a staged key (0) and a primary key (1)."""
    for name in ("fernet-keys", "credential-keys"):
        repo = keystone_dir(plan) / name
        repo.mkdir(mode=0o700, parents=True, exist_ok=True)
        for index in ("0", "1"):
            key = repo / index
            if not key.exists():
                fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(base64.urlsafe_b64encode(os.urandom(32)))


def keystone_manage() -> str:
    return str(Path(sys.executable).parent / "keystone-manage")


def bootstrap(plan: LabPlan, admin_password: str) -> None:
    """Create the schema and the admin user, project, role, service and endpoints."""
    conf = str(config_path(plan))
    run([keystone_manage(), "--config-file", conf, "db_sync"], timeout=300)
    # The password goes by environment, not argv: no process listing shows it.
    env = dict(os.environ, OS_BOOTSTRAP_PASSWORD=admin_password)
    run([keystone_manage(), "--config-file", conf, "bootstrap",
         "--bootstrap-username", ADMIN_USER,
         "--bootstrap-project-name", "admin",
         "--bootstrap-role-name", "admin",
         "--bootstrap-service-name", "keystone",
         "--bootstrap-region-id", REGION,
         "--bootstrap-admin-url", plan.auth_url,
         "--bootstrap-internal-url", plan.auth_url,
         "--bootstrap-public-url", plan.auth_url], timeout=300, env=env, redact=admin_password)


def site_dirs() -> list[str]:
    package_root = str(Path(ha_tests.__file__).resolve().parent.parent)
    return [package_root, sysconfig.get_paths()["purelib"]]


def service(plan: LabPlan, node: NodePlan) -> dict:
    """gunicorn with one gthread worker: a real WSGI server, kept small in memory."""
    return {
        "name": "keystone",
        "path": sys.executable,
        "argv": [PROCESS_NAME, "-m", "ha_tests.lab.keystone_wsgi",
                 "--name", PROCESS_NAME,
                 "--bind", f"{node.mgmt_ip}:{KEYSTONE_PORT}",
                 "--workers", "1", "--worker-class", "gthread", "--threads", "4",
                 "--timeout", "60", "--graceful-timeout", "5",
                 "--access-logfile", "-", "--error-logfile", "-",
                 "ha_tests.lab.keystone_wsgi:application"],
        "env": {"OS_KEYSTONE_CONFIG_FILES": str(config_path(plan)),
                "PYTHONPATH": ":".join(site_dirs()),
                "HA_TESTS_LAB_SITE": sysconfig.get_paths()["purelib"]},
    }


def issue_token(auth_url: str, password: str, timeout: float = 5.0,
                username: str = ADMIN_USER) -> tuple[str, Message]:
    """A project-scoped token from Keystone (raw HTTP, no SDK): (token, response headers)."""
    import json
    import urllib.request

    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    req = urllib.request.Request(f"{auth_url}/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return response.headers["X-Subject-Token"], response.headers


def validate_token(auth_url: str, token: str, subject: str,
                   timeout: float = 5.0) -> Message:
    """GET /v3/auth/tokens: the headers of a 200; raises urllib's HTTPError if invalid."""
    import urllib.request

    req = urllib.request.Request(f"{auth_url}/auth/tokens",
                                 headers={"X-Auth-Token": token, "X-Subject-Token": subject})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return response.headers
