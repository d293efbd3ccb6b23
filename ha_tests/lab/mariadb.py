"""MariaDB for the full lab profile: the database of Placement, Nova and Cinder.

One server, on the first controller, reached by every service through the VIP (HAProxy
``mode tcp``), as services reach a Galera cluster in production. It is not replicated: a
power-off of that controller takes the database away until it boots again (docs/lab.rst says
so; a Galera cluster is the next step). The server runs in the foreground as the node's root,
its data in the node's directory. Databases and the one account of the OpenStack services
are (re)declared by ``--init-file`` at every start, so a wiped or new data directory needs no
client session.
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab.plan import MARIADB_PORT, LabPlan, NodePlan
from ha_tests.lab.system import LabError, run, write_secret

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
PROCESS_REGEX = r"^/usr/sbin/mariadbd "
DATABASES = ("placement", "nova_api", "nova", "nova_cell0", "cinder")
USER = "openstack"


def node(plan: LabPlan) -> NodePlan:
    """The controller that holds the database."""
    return plan.controllers[0]


def data_dir(plan: LabPlan) -> Path:
    return plan.node_dir(node(plan).name) / "mariadb"


def url(plan: LabPlan, password: str, database: str) -> str:
    """SQLAlchemy URL of a database, through the VIP."""
    return (f"mysql+pymysql://{USER}:{password}@{plan.vip}:{MARIADB_PORT}/{database}"
            "?charset=utf8")


def prepare(plan: LabPlan, password: str) -> None:
    """System tables in a new data directory, and the init file that declares the rest."""
    directory = data_dir(plan)
    if not (directory / "mysql").is_dir():
        directory.mkdir(parents=True, exist_ok=True)
        run([INSTALL_DB, "--no-defaults", f"--datadir={directory}", "--user=root",
             "--skip-test-db", "--auth-root-authentication-method=socket"], timeout=180)
    statements = [f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8;"
                  for name in DATABASES]
    statements += [f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{password}';",
                   f"ALTER USER '{USER}'@'%' IDENTIFIED BY '{password}';",
                   f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';"]
    write_secret(init_file(plan), "\n".join(statements) + "\n")


def init_file(plan: LabPlan) -> Path:
    return plan.node_dir(node(plan).name) / "mariadb-init.sql"


def service(plan: LabPlan, host: NodePlan) -> dict:
    node_dir = plan.node_dir(host.name)
    if not Path(MARIADBD).exists():
        raise LabError(f"{MARIADBD} is missing: the full profile needs Debian's "
                       "mariadb-server (./bootstrap.sh setup installs it)")
    return {"name": "mariadb", "path": MARIADBD,
            "argv": [MARIADBD, "--no-defaults", f"--datadir={data_dir(plan)}",
                     f"--socket={node_dir}/run/mysqld.sock",
                     f"--pid-file={node_dir}/run/mysqld.pid",
                     f"--bind-address={host.mgmt_ip}", f"--port={MARIADB_PORT}",
                     "--user=root", "--skip-name-resolve", "--skip-log-bin",
                     f"--init-file={init_file(plan)}",
                     "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
                     "--innodb-flush-log-at-trx-commit=2", "--performance-schema=OFF",
                     "--max-connections=1000", "--wait-timeout=3600",
                     f"--log-error={node_dir}/log/mariadb-error.log"]}
