"""What the full profile's OpenStack services share: secrets, config sections, launchers.

Every service reads its own config file from the node's directory (per node, because ``host``
and ``my_ip`` differ), finds the others through Keystone's catalog on the VIP, and starts only
once the lab has created the database schemas (``schema-ready`` in the lab directory): a
deployment tool runs the ``db sync`` commands before it starts the services, and a service
that found no tables would only crash-loop until then. A powered-off node boots straight
through, the marker being there.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
import sys
import sysconfig
from pathlib import Path

import ha_tests
from ha_tests.lab.plan import KEYSTONE_PORT, SERVICE_PROJECT, LabPlan
from ha_tests.lab.system import read_secret, write_secret

SERVICE_USERS = ("nova", "placement", "cinder", "glance")


@dataclasses.dataclass(frozen=True)
class Secrets:
    """Passwords of the full profile, generated once per lab, files readable by root only."""
    database: str
    bus: str
    service: str

    @classmethod
    def load(cls, plan: LabPlan) -> Secrets:
        directory = plan.dir / "secrets"
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        alphabet = string.ascii_letters + string.digits
        values = {}
        for field, file in (("database", "db-password"), ("bus", "bus-password"),
                            ("service", "service-password")):
            path = directory / file
            if not path.exists():
                write_secret(path, "".join(secrets.choice(alphabet) for _ in range(24)))
            values[field] = read_secret(path)
        return cls(**values)


def venv_bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def venv_etc(project: str) -> Path:
    """The files a project's package installs under ``<venv>/etc/<project>`` (paste
    pipelines, Glance's metadata definitions)."""
    return Path(sys.executable).parent.parent / "etc" / project


def schema_marker(plan: LabPlan) -> Path:
    return plan.dir / "schema-ready"


def after_schema(plan: LabPlan, argv: list[str], executable: str | None = None) -> dict:
    """Service spec fields running ``argv`` once the schemas exist; ``exec`` keeps the PID
    that PID 1 supervises. With ``executable``, ``argv[0]`` is only the process's name."""
    marker = schema_marker(plan)
    command = f'exec -a "$0" {executable} "$@"' if executable else 'exec "$0" "$@"'
    script = f"while [ ! -e {marker} ]; do sleep 0.5; done; {command}"
    return {"path": "/bin/bash", "argv": ["/bin/bash", "-c", script, *argv]}


def site_dirs() -> list[str]:
    package_root = str(Path(ha_tests.__file__).resolve().parent.parent)
    return [package_root, sysconfig.get_paths()["purelib"]]


def python_env() -> dict[str, str]:
    return {"PYTHONPATH": ":".join(site_dirs()),
            "HA_TESTS_LAB_SITE": sysconfig.get_paths()["purelib"]}


def wsgi_service(plan: LabPlan, name: str, app: str, bind: str, config_env: dict) -> dict:
    """An API under gunicorn (one worker, threads), named ``name`` in the process table."""
    argv = [name, "-m", "ha_tests.lab.api_wsgi", "--name", name, "--bind", bind,
            "--workers", "1", "--worker-class", "gthread", "--threads", "4",
            "--timeout", "120", "--graceful-timeout", "5",
            "--access-logfile", "-", "--error-logfile", "-",
            "ha_tests.lab.api_wsgi:application"]
    return {"name": name, **after_schema(plan, argv, executable=sys.executable),
            "env": {**python_env(), **config_env, "HA_TESTS_LAB_APP": app}}


def console_service(plan: LabPlan, name: str, config_file: Path) -> dict:
    """A service from its console script in the virtualenv (nova-conductor, ...)."""
    script = venv_bin(name)
    return {"name": name, **after_schema(
                plan, [sys.executable, script, "--config-file", str(config_file)]),
            "env": python_env()}


def _password_auth(plan: LabPlan, password: str, user: str) -> str:
    """The lines of a keystoneauth password plugin for a service user of the lab."""
    return f"""\
auth_url = http://{plan.vip}:{KEYSTONE_PORT}
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = {SERVICE_PROJECT}
username = {user}
password = {password}
"""


def keystone_authtoken(plan: LabPlan, password: str, user: str) -> str:
    return (f"[keystone_authtoken]\nwww_authenticate_uri = {plan.auth_url}\n"
            + _password_auth(plan, password, user) + "service_token_roles_required = true\n")


def service_auth_section(section: str, plan: LabPlan, password: str, user: str,
                         extra: str = "") -> str:
    return (f"[{section}]\n" + _password_auth(plan, password, user)
            + "region_name = RegionOne\nvalid_interfaces = internal,public\n" + extra)
