"""What attackers and monitors need from a BMC: read and switch a node's power."""

from __future__ import annotations

import abc
from typing import Literal

from ha_tests.errors import HaTestsError
from ha_tests.masking import mask_text

PowerState = Literal["on", "off"]
PowerAction = Literal["on", "off", "cycle", "reset", "soft"]
DEFAULT_TIMEOUT_S = 10.0


class BmcError(HaTestsError):
    """A BMC call failed. The message names the BMC (address) and never holds its password
    (nor one written into a URL as ``user:password@``)."""

    def __init__(self, address: str, message: str):
        self.address = mask_text(address)
        self.reason = mask_text(message)
        super().__init__(f"BMC {self.address}: {self.reason}")


class BmcAuthError(BmcError):
    """The BMC refused the credentials (wrong user name or password)."""


class BmcTimeout(BmcError):
    """The BMC did not answer within the call's timeout (unreachable, or powered off)."""


def scrub(text: str, *secrets: str | bytes | None) -> str:
    """``text`` with every given secret blanked out, for messages built from tool output."""
    for secret in secrets:
        if isinstance(secret, bytes):
            secret = secret.decode("utf-8", "replace")
        if secret:
            text = text.replace(secret, "******")
    return text


class Bmc(abc.ABC):
    """A node's BMC. Every call takes an optional timeout (seconds) and raises BmcError.

    The power actions are hard ones except :meth:`power_soft` (ACPI shutdown request). They
    return once the BMC accepted the command; a real BMC may still be switching, so poll
    :meth:`power_state` when the new state matters.
    """

    def __init__(self, address: str, timeout: float = DEFAULT_TIMEOUT_S):
        self.address = address
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address!r})"

    def power_state(self, timeout: float | None = None) -> PowerState:
        """"on" or "off"."""
        return self._get_power_state(self._timeout(timeout))

    def power_on(self, timeout: float | None = None) -> None:
        self._power("on", self._timeout(timeout))

    def power_off(self, timeout: float | None = None) -> None:
        """Cut the power at once (no shutdown): what a failing PSU or a pulled plug does."""
        self._power("off", self._timeout(timeout))

    def power_cycle(self, timeout: float | None = None) -> None:
        self._power("cycle", self._timeout(timeout))

    def power_reset(self, timeout: float | None = None) -> None:
        self._power("reset", self._timeout(timeout))

    def power_soft(self, timeout: float | None = None) -> None:
        """Ask the OS to shut down (ACPI power button)."""
        self._power("soft", self._timeout(timeout))

    def close(self) -> None:
        """Release connections; the object stays usable (it reconnects on the next call)."""

    def __enter__(self) -> Bmc:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _timeout(self, timeout: float | None) -> float:
        chosen = self.timeout if timeout is None else timeout
        if chosen <= 0:
            raise ValueError(f"timeout must be positive, not {chosen}")
        return chosen

    @abc.abstractmethod
    def _get_power_state(self, timeout: float) -> PowerState:
        """The power state, within ``timeout`` seconds."""

    @abc.abstractmethod
    def _power(self, action: PowerAction, timeout: float) -> None:
        """Send one power action, within ``timeout`` seconds."""
