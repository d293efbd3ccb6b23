"""The lab's database: a three-node MariaDB Galera cluster on the controllers, in every profile.

Keystone (and, in the full profile, Placement, Nova and Cinder) reach it through the VIP,
where HAProxy sends every connection to one member, the others being backups (as kolla and
TripleO do: writes on one node never conflict). Each member is Debian's ``mariadbd`` with
the ``galera-4`` provider, run as the ``mysql`` user (the rsync daemon of an SST, started by
the server, then writes as that user too), its data in its node's directory. The first
controller bootstraps the cluster at ``lab up`` (``--wsrep-new-cluster``); every other start,
of any member, joins the members that answer (IST, or an rsync SST): see
``galera_member.py``. Databases and the services' account are (re)declared by
``--init-file`` at every start, idempotently, so no client session is needed to set up.
"""

from __future__ import annotations

import concurrent.futures
import os
import pwd
import re
import sys
from pathlib import Path

from ha_tests.lab import galera_member, hactl
from ha_tests.lab.openstack import python_env
from ha_tests.lab.plan import MARIADB_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError, run, write_secret

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
GALERA_PROVIDER = "/usr/lib/galera/libgalera_smm.so"
SST_SCRIPT = "/usr/bin/wsrep_sst_rsync"
PROCESS_REGEX = r"^/usr/sbin/mariadbd "
DATABASES = ("keystone", "placement", "nova_api", "nova", "nova_cell0", "cinder", "glance")
USER = "openstack"
SYSTEM_USER = "mysql"
#: Galera's replication port (gcomm) and its incremental state transfer port
GCOMM_PORT = 4567
IST_PORT = 4568
#: clustercheck's HTTP port, as TripleO's
CLUSTERCHECK_PORT = 9200
CLUSTER_NAME = "ha-lab"


def node(plan: LabPlan) -> NodePlan:
    """The member that bootstraps the cluster and that HAProxy sends writes to while it is
    up (the others are its backups)."""
    return plan.controllers[0]


def members(plan: LabPlan) -> list[NodePlan]:
    return plan.controllers


def data_dir(plan: LabPlan, host: NodePlan | None = None) -> Path:
    return plan.node_dir((host or node(plan)).name) / "mariadb"


def run_dir(plan: LabPlan, host: NodePlan) -> Path:
    """Socket and pid file: beside the data, owned by ``mysql`` (the node's /run is root's
    and emptied at boot)."""
    return plan.node_dir(host.name) / "mariadb-run"


def bootstrap_marker(plan: LabPlan) -> Path:
    """Present from ``prepare`` until the first member's first start: that start, and only
    it, creates a new cluster; any later start of it joins the others."""
    return plan.node_dir(node(plan).name) / "galera-bootstrap"


def error_log(plan: LabPlan, host: NodePlan) -> Path:
    return plan.node_dir(host.name) / "log" / "mariadb-error.log"


def log_tails(plan: LabPlan, secrets: tuple[str, ...], lines: int = 6) -> str:
    """The last lines of each member's error log (with what ``galera_member`` decided), for
    an error that must say why the cluster did not form: the lab, and so the log, may be
    gone by the time someone reads it. The lab's secrets are blanked out of them."""

    def mask_text(line: str) -> str:
        for secret in secrets:
            line = line.replace(secret, "***")
        return line

    parts = []
    for host in members(plan):
        try:
            tail = error_log(plan, host).read_text(errors="replace").splitlines()[-lines:]
        except OSError as error:
            tail = [f"(no log: {error.strerror})"]
        parts.append(f"{host.name}: " + "\n    ".join(mask_text(line) for line in tail))
    return "\n  ".join(parts)


def url(plan: LabPlan, password: str, database: str) -> str:
    """SQLAlchemy URL of a database, through the VIP."""
    return (f"mysql+pymysql://{USER}:{password}@{plan.vip}:{MARIADB_PORT}/{database}"
            "?charset=utf8")


def _system_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise LabError(f"no '{SYSTEM_USER}' user: the lab needs Debian's mariadb-server "
                       "(./bootstrap.sh setup installs it)") from None
    return entry.pw_uid, entry.pw_gid


def prepare(plan: LabPlan, password: str) -> None:
    """Data directories (system tables on the first member; the others get theirs by SST),
    the init file that declares the rest, and the bootstrap marker."""
    for program in (MARIADBD, GALERA_PROVIDER, SST_SCRIPT):
        if not Path(program).exists():
            raise LabError(f"{program} is missing: the lab's database needs Debian's "
                           "mariadb-server, galera-4 and rsync (./bootstrap.sh setup "
                           "installs them)")
    uid, gid = _system_ids()
    for host in members(plan):
        for directory in (data_dir(plan, host), run_dir(plan, host)):
            directory.mkdir(parents=True, exist_ok=True)
            os.chown(directory, uid, gid)
    first = data_dir(plan)
    if not (first / "mysql").is_dir():
        run([INSTALL_DB, "--no-defaults", f"--datadir={first}", f"--user={SYSTEM_USER}",
             "--skip-test-db", "--auth-root-authentication-method=socket"], timeout=180)
        bootstrap_marker(plan).touch()
    statements = [f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8;"
                   for name in DATABASES]
    statements += [f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{password}';",
                   f"ALTER USER '{USER}'@'%' IDENTIFIED BY '{password}';",
                   f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';"]
    path = init_file(plan)
    write_secret(path, "\n".join(statements) + "\n")
    os.chown(path, uid, gid)  # the server reads it after it dropped root


def init_file(plan: LabPlan) -> Path:
    return plan.dir / "mariadb-init.sql"


def server_argv(plan: LabPlan, host: NodePlan) -> list[str]:
    """The member's ``mariadbd`` command line (``galera_member`` adds whether it bootstraps)."""
    addresses = ",".join(m.mgmt_ip for m in members(plan))
    provider_options = ";".join([
        f"gmcast.listen_addr=tcp://{host.mgmt_ip}:{GCOMM_PORT}",
        f"ist.recv_addr={host.mgmt_ip}:{IST_PORT}",
        "gcache.size=32M",
        # a member powered off is declared gone after 5 s (default), a SIGKILLed one at once
        "evs.suspect_timeout=PT5S", "evs.inactive_timeout=PT10S"])
    return [MARIADBD, "--no-defaults", f"--datadir={data_dir(plan, host)}",
            f"--socket={run_dir(plan, host)}/mysqld.sock",
            f"--pid-file={run_dir(plan, host)}/mysqld.pid",
            f"--bind-address={host.mgmt_ip}", f"--port={MARIADB_PORT}",
            f"--user={SYSTEM_USER}", "--skip-name-resolve", "--skip-log-bin",
            f"--init-file={init_file(plan)}",
            "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2", "--performance-schema=OFF",
            "--max-connections=1000", "--wait-timeout=3600",
            # what Galera requires of the server
            "--binlog-format=ROW", "--default-storage-engine=InnoDB",
            "--innodb-autoinc-lock-mode=2",
            "--wsrep-on=ON", f"--wsrep-provider={GALERA_PROVIDER}",
            f"--wsrep-cluster-name={CLUSTER_NAME}",
            f"--wsrep-cluster-address=gcomm://{addresses}",
            f"--wsrep-node-name={host.name}", f"--wsrep-node-address={host.mgmt_ip}",
            "--wsrep-sst-method=rsync", f"--wsrep-provider-options={provider_options}",
            f"--log-error={error_log(plan, host)}"]


def service(plan: LabPlan, host: NodePlan) -> dict:
    """The member as the node's PID 1 supervises it: ``galera_member`` decides bootstrap or
    join, then execs ``mariadbd`` (the supervised PID stays the server's)."""
    return {"name": "mariadb", "path": sys.executable,
            "argv": ["galera-member", "-m", "ha_tests.lab.galera_member",
                     "--bootstrap-marker", str(bootstrap_marker(plan)),
                     "--log", str(error_log(plan, host)),
                     "--", *server_argv(plan, host)],
            "env": python_env()}


def clustercheck_service(plan: LabPlan, host: NodePlan) -> dict:
    """The member's health for HAProxy: synced or not (``clustercheck.py``)."""
    return {"name": "clustercheck", "path": sys.executable,
            "argv": ["clustercheck", "-m", "ha_tests.lab.clustercheck",
                     "--bind", f"{host.mgmt_ip}:{CLUSTERCHECK_PORT}",
                     "--member", f"{host.mgmt_ip}:{MARIADB_PORT}", "--user", USER,
                     "--password-file", str(plan.dir / "secrets" / "db-password")],
            "env": python_env()}


def cluster_status(plan: LabPlan, password: str, timeout: float = 3.0,
                   host: str | None = None) -> dict:
    """Through the VIP (or from the member at ``host``): which member answered and the
    cluster as it sees it."""
    import pymysql

    connection = pymysql.connect(host=host or plan.vip, port=MARIADB_PORT, user=USER,
                                 password=password, connect_timeout=timeout,
                                 read_timeout=timeout, write_timeout=timeout)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@wsrep_node_name")
            (member,) = cursor.fetchone()
            cursor.execute("SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', "
                           "'wsrep_local_state_comment', 'wsrep_cluster_status')")
            found = dict(cursor.fetchall())
    finally:
        connection.close()
    return {"member": member, "size": int(found.get("wsrep_cluster_size", 0)),
            "state": found.get("wsrep_local_state_comment"),
            "cluster": found.get("wsrep_cluster_status")}


def has_primary(plan: LabPlan, password: str) -> bool:
    """Some member answers and is in a primary component (a cluster that may still be
    forming, or a member still joining it, but one that can form without help)."""
    for host in members(plan):
        try:
            if cluster_status(plan, password, host=host.mgmt_ip)["cluster"] == "Primary":
                return True
        except Exception:  # pymysql's errors: this member does not answer (yet)
            continue
    return False


def cluster_whole(plan: LabPlan, password: str) -> bool:
    """Every member answers, synced, in one primary cluster of all of them, and the VIP
    leads to one of them (False while the cluster forms or a member rejoins)."""
    try:
        statuses = [cluster_status(plan, password, host=m.mgmt_ip) for m in members(plan)]
        cluster_status(plan, password)
    except Exception:  # pymysql's errors, refused connections: not formed yet
        return False
    return all(s["size"] == len(members(plan)) and s["cluster"] == "Primary"
               and s["state"] == "Synced" for s in statuses)


def control(plan: LabPlan, host: NodePlan, verb: str) -> tuple[int, str]:
    """``hactl <verb> mariadb`` on the member's node, from the host (its PID 1's socket)."""
    return hactl.request(plan.hactl_socket(host.name), verb, "mariadb", timeout=180)


def _seqno(position: str | None) -> int:
    return int(position.rsplit(":", 1)[1]) if position else -1


def reform(plan: LabPlan) -> str:
    """Bring back a cluster that has no primary component and cannot get one by itself
    (every member waiting for another, or all of them in a non-primary view), the way an
    operator does and kolla-ansible's ``mariadb_recovery`` automates: stop every member,
    find each one's last committed position (``mariadbd --wsrep-recover``), mark the most
    advanced one ``safe_to_bootstrap: 1`` and start them all: that one bootstraps
    (``galera_member``'s last-one rule), the others join it. Returns what was done."""
    hosts = members(plan)
    for host in hosts:
        control(plan, host, "stop")
    with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
        found = pool.map(lambda h: galera_member.recover(
            server_argv(plan, h), run_dir(plan, h) / "wsrep-recover.log"), hosts)
        positions = dict(zip([h.name for h in hosts], found, strict=True))
    chosen = max(hosts, key=lambda h: _seqno(positions[h.name]))  # ties: the first member
    state = data_dir(plan, chosen) / "grastate.dat"
    try:
        text = state.read_text()
    except OSError:
        text = ""
    text, found = re.subn(r"^safe_to_bootstrap:.*$", "safe_to_bootstrap: 1", text, flags=re.M)
    if not found:
        text += "safe_to_bootstrap: 1\n"
    state.write_text(text)
    for host in hosts:
        control(plan, host, "start")
    return (f"stopped all {len(hosts)} members, positions "
            + ", ".join(f"{name} {_seqno(p)}" for name, p in positions.items())
            + f"; {chosen.name} (the most advanced) bootstraps, the others join it")
