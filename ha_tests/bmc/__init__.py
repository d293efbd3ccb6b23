"""Client side of node BMCs: read and switch a node's power over IPMI or Redfish.

``connect(bmc_config)`` takes the inventory's ``bmc:`` mapping (see docs/contracts.rst) and
returns a :class:`Bmc`. See docs/bmc.rst.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Any

from ha_tests import masking
from ha_tests.bmc.base import (
    DEFAULT_TIMEOUT_S,
    Bmc,
    BmcAuthError,
    BmcError,
    BmcTimeout,
    PowerAction,
    PowerState,
)

__all__ = ["Bmc", "BmcAuthError", "BmcError", "BmcTimeout", "PowerAction", "PowerState",
           "connect", "read_password"]

KNOWN_FIELDS = {"type", "address", "port", "username", "password", "password_file", "url",
                "system_id", "verify", "client", "timeout", "cipher_suite"}


def read_password(bmc_config: Mapping[str, Any]) -> str:
    """The BMC password from ``password`` or from ``password_file`` (owner-only file)."""
    where = bmc_config.get("address") or bmc_config.get("url") or "?"
    if bmc_config.get("password") is not None:
        if bmc_config.get("password_file"):
            raise BmcError(where, "give either password or password_file, not both")
        return str(bmc_config["password"])
    path = bmc_config.get("password_file")
    if not path:
        raise BmcError(where, "no password or password_file")
    try:
        info = os.stat(path)
        if info.st_mode & 0o077:
            raise BmcError(where, f"password_file {path} has mode "
                           f"{stat.S_IMODE(info.st_mode):04o}; make it 0600")
        with open(path, encoding="utf-8") as handle:
            password = handle.read().rstrip("\r\n")
    except OSError as error:
        raise BmcError(where, f"password_file {path}: {error.strerror}") from None
    masking.add(password)
    return password


def connect(bmc_config: Mapping[str, Any]) -> Bmc:
    """A :class:`Bmc` for one inventory ``bmc:`` mapping (type ipmi or redfish).

    Nothing is sent yet: the first call connects, so a down BMC shows up as a BmcError from
    that call, with the call's timeout.
    """
    unknown = set(bmc_config) - KNOWN_FIELDS
    where = bmc_config.get("address") or bmc_config.get("url") or "?"
    if unknown:
        raise BmcError(where, f"unknown bmc field(s): {', '.join(sorted(unknown))}")
    kind = bmc_config.get("type", "ipmi")
    timeout = float(bmc_config.get("timeout", DEFAULT_TIMEOUT_S))
    username = bmc_config.get("username")
    if not username:
        raise BmcError(where, "no username")
    password = read_password(bmc_config)
    if kind == "ipmi":
        from ha_tests.bmc.ipmi import CLIENTS, DEFAULT_CLIENT, IpmiBmc

        if not bmc_config.get("address"):
            raise BmcError(where, "an ipmi BMC needs an address")
        client = bmc_config.get("client", DEFAULT_CLIENT)
        if client not in CLIENTS:
            raise BmcError(where, f"unknown ipmi client {client!r} (ipmitool or pyghmi)")
        return IpmiBmc(bmc_config["address"], username, password,
                       port=int(bmc_config.get("port", 623)),
                       client=client, timeout=timeout,
                       cipher_suite=bmc_config.get("cipher_suite"))
    if kind == "redfish":
        from ha_tests.bmc.redfish import RedfishBmc

        url = bmc_config.get("url")
        if not url:
            address = bmc_config.get("address")
            if not address:
                raise BmcError(where, "a redfish BMC needs a url (or an address)")
            port = bmc_config.get("port")
            url = f"https://{address}" + (f":{port}" if port else "")
        return RedfishBmc(url, username, password, system_id=bmc_config.get("system_id"),
                          verify=bmc_config.get("verify", True), timeout=timeout)
    raise BmcError(where, f"unknown bmc type {kind!r} (ipmi or redfish)")
