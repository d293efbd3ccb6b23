"""Redfish BMCs, driven with sushy (``ComputerSystem.Reset`` and ``PowerState``)."""

from __future__ import annotations

import threading
from typing import Any

from ha_tests.bmc.base import (
    DEFAULT_TIMEOUT_S,
    Bmc,
    BmcAuthError,
    BmcError,
    BmcTimeout,
    PowerAction,
    PowerState,
    scrub,
)
from ha_tests.masking import mask_text

# Our actions -> Redfish ResetType values (DMTF DSP0268). "cycle" prefers PowerCycle and
# falls back to ForceOff + On where a BMC does not offer it.
RESET_TYPES = {"on": "On", "off": "ForceOff", "reset": "ForceRestart",
               "soft": "GracefulShutdown", "cycle": "PowerCycle"}


class RedfishBmc(Bmc):
    """A BMC reached over Redfish.

    ``url`` is the service's base (``https://bmc.example``); ``system_id`` the path of the
    ComputerSystem (``/redfish/v1/Systems/1``), or None when the service has exactly one.
    ``verify`` is passed to requests: True, False or a CA bundle path.
    """

    def __init__(self, url: str, username: str, password: str, system_id: str | None = None,
                 verify: bool | str = True, timeout: float = DEFAULT_TIMEOUT_S):
        super().__init__(mask_text(url.rstrip("/")), timeout)  # a name to show: no password
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self.system_id = system_id
        self.verify = verify
        self._root: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedfishBmc({self.address!r}, user={self.username!r})"

    def close(self) -> None:
        with self._lock:
            root, self._root = self._root, None
        connector = getattr(root, "_conn", None)  # sushy.Sushy has no public close()
        if connector is not None:
            connector.close()

    def _get_power_state(self, timeout: float) -> PowerState:
        system = self._system(timeout)
        state = self._call(lambda: system.power_state, timeout)
        value = getattr(state, "value", state)
        if value in ("On", "PoweringOff", "on"):
            return "on"
        if value in ("Off", "PoweringOn", "off"):
            return "off"
        raise BmcError(self.address, f"unexpected PowerState {value!r}")

    def _power(self, action: PowerAction, timeout: float) -> None:
        import sushy

        system = self._system(timeout)
        reset_type = sushy.ResetType(RESET_TYPES[action])
        if action == "cycle":
            allowed = self._call(system.get_allowed_reset_system_values, timeout)
            if reset_type not in allowed:
                self._call(lambda: system.reset_system(sushy.ResetType.FORCE_OFF), timeout)
                self._call(lambda: system.reset_system(sushy.ResetType.ON), timeout)
                return
        self._call(lambda: system.reset_system(reset_type), timeout)

    def _system(self, timeout: float) -> Any:
        """A fresh view of the ComputerSystem (its power state is re-read each time)."""
        root = self._connect(timeout)

        def get_system() -> Any:
            system_id = self.system_id
            if system_id is None:
                members = root.get_system_collection().members_identities
                if len(members) != 1:
                    raise BmcError(self.address, f"{len(members)} systems; set system_id to "
                                   f"one of: {', '.join(sorted(members))}")
                system_id = next(iter(members))
            return root.get_system(system_id)

        return self._call(get_system, timeout)

    def _connect(self, timeout: float) -> Any:
        import sushy

        with self._lock:
            if self._root is None:
                self._root = self._call(lambda: sushy.Sushy(
                    self.url, username=self.username, password=self._password,
                    verify=self.verify, read_timeout=timeout, connect_timeout=timeout,
                    server_side_retries=2, server_side_retries_delay=0.5), timeout)
            return self._root

    def _call(self, call, timeout: float):
        """Run a sushy call, turning its and requests' errors into BmcError."""
        import requests
        import sushy.exceptions as sushy_exceptions

        try:
            return call()
        except BmcError:
            raise
        except sushy_exceptions.AccessError as error:
            if getattr(error, "status_code", None) in (401, 403):
                raise BmcAuthError(self.address, f"login refused for user {self.username!r} "
                                   f"(HTTP {error.status_code})") from None
            raise BmcError(self.address, self._clean(error)) from None
        except sushy_exceptions.ConnectionError as error:
            raise BmcTimeout(self.address, f"unreachable or silent (timeout {timeout:g}s): "
                             f"{self._clean(error)}") from None
        except (sushy_exceptions.SushyError, requests.RequestException) as error:
            raise BmcError(self.address, self._clean(error)) from None

    def _clean(self, error: Exception) -> str:
        return mask_text(scrub(str(error), self._password))
