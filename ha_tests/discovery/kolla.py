"""kolla-ansible's own files beside its inventory: ``globals.yml`` (the VIPs) and
``admin-openrc.sh`` (the credentials Keystone's catalog is read with)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ha_tests.errors import InputError, Problem
from ha_tests.yamlsource import load_file

_EXPORT = re.compile(r"^\s*export\s+(OS_[A-Z_]+)=(.*)$")


def load_globals(path: str | Path) -> dict:
    data, _ = load_file(path)
    if not isinstance(data, dict):
        raise InputError(Problem(str(path), 1, 1, "", "globals.yml is a mapping",
                                 "give kolla-ansible's /etc/kolla/globals.yml"))
    return data


def load_openrc(path: str | Path) -> dict[str, str]:
    """``OS_*`` variables of an openrc file, read (never sourced: it is not run)."""
    found = {}
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise InputError(Problem(str(path), None, None, "", f"cannot read: {exc.strerror}",
                                 "give kolla-ansible's admin-openrc.sh")) from None
    for line in text.splitlines():
        match = _EXPORT.match(line)
        if match:
            try:
                words = shlex.split(match.group(2))
            except ValueError:
                continue
            found[match.group(1)] = words[0] if words else ""
    return found


def auth_from_env(env: dict[str, str]) -> dict | None:
    """An inventory ``auth:`` mapping from ``OS_*`` variables, if they name a cloud."""
    if not (env.get("OS_AUTH_URL") and env.get("OS_USERNAME") and env.get("OS_PASSWORD")):
        return None
    auth = {"auth_url": env["OS_AUTH_URL"], "username": env["OS_USERNAME"],
            "password": env["OS_PASSWORD"],
            "project_name": env.get("OS_PROJECT_NAME", "admin")}
    for key, field in (("OS_USER_DOMAIN_NAME", "user_domain_name"),
                       ("OS_PROJECT_DOMAIN_NAME", "project_domain_name"),
                       ("OS_REGION_NAME", "region_name"), ("OS_INTERFACE", "interface")):
        if env.get(key):
            auth[field] = env[key]
    return auth
