"""IPMI v2 (RMCP+, lanplus) BMCs, driven by ipmitool or by pyghmi's client.

ipmitool is the default: one process and one new session per call (~30 ms on loopback),
isolated from every other call. pyghmi (``client="pyghmi"``) is in-process and faster (~1 ms
per call once its session is up), but its client shares one event loop per process: while
one BMC does not answer, calls to *other* BMCs from other threads stall for seconds (seen
here: > 5 s), which would distort outage timings. Either way the password never reaches a
command line: pyghmi keeps it in memory, ipmitool gets it through its environment (``-E``),
which only its owner can read.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

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

IpmiClient = Literal["ipmitool", "pyghmi"]
CLIENTS = ("ipmitool", "pyghmi")
DEFAULT_CLIENT: IpmiClient = "ipmitool"

# Chassis Control directives (IPMI v2 table 28-4).
CHASSIS_CONTROL = {"off": 0, "on": 1, "cycle": 2, "reset": 3, "soft": 5}
NETFN_CHASSIS = 0x00
CMD_GET_CHASSIS_STATUS = 0x01
CMD_CHASSIS_CONTROL = 0x02

# What pyghmi and ipmitool say when the BMC refused the credentials.
AUTH_FAILURE_MARKERS = ("Incorrect password", "HMAC is invalid", "Unauthorized name",
                        "unauthorized name", "Invalid integrity check", "invalid integrity check")

T = TypeVar("T")


class IpmiBmc(Bmc):
    """A BMC reached over IPMI v2 lanplus."""

    def __init__(self, address: str, username: str, password: str, port: int = 623,
                 client: IpmiClient = DEFAULT_CLIENT, timeout: float = DEFAULT_TIMEOUT_S,
                 cipher_suite: int | None = None, ipmitool: str = "ipmitool"):
        if client not in CLIENTS:
            raise ValueError(f"IPMI client must be one of {', '.join(CLIENTS)}, not {client!r}")
        super().__init__(f"{address}:{port}", timeout)
        self.host = address
        self.port = int(port)
        self.username = username
        self._password = password
        self.client = client
        self.cipher_suite = cipher_suite  # ipmitool only; pyghmi picks 17, falling back to 3
        self.ipmitool = ipmitool

    def __repr__(self) -> str:
        return f"IpmiBmc({self.address!r}, user={self.username!r}, client={self.client!r})"

    def _get_power_state(self, timeout: float) -> PowerState:
        if self.client == "ipmitool":
            output = self._ipmitool(["chassis", "power", "status"], timeout)
            match = re.search(r"Chassis Power is (on|off)", output)
            if not match:
                raise BmcError(self.address, f"unexpected ipmitool output: {output.strip()!r}")
            return match.group(1)  # type: ignore[return-value]
        data = self._pyghmi_raw(NETFN_CHASSIS, CMD_GET_CHASSIS_STATUS, (), timeout)
        if not data:
            raise BmcError(self.address, "empty Get Chassis Status answer")
        return "on" if data[0] & 1 else "off"

    def _power(self, action: PowerAction, timeout: float) -> None:
        if self.client == "ipmitool":
            self._ipmitool(["chassis", "power", action], timeout)
        else:
            self._pyghmi_raw(NETFN_CHASSIS, CMD_CHASSIS_CONTROL, (CHASSIS_CONTROL[action],),
                             timeout)

    # --- pyghmi ------------------------------------------------------------------------------

    def _pyghmi_raw(self, netfn: int, command: int, data: tuple[int, ...],
                    timeout: float) -> bytes:
        from pyghmi import exceptions as pyghmi_exceptions
        from pyghmi.ipmi import command as pyghmi_command

        def call() -> dict[str, Any]:
            # Credentials go in as bytes: pyghmi 1.6 compares the cached session's (bytes)
            # credentials with the caller's, so str ones never match, and its stale
            # half-login entry then hangs the next Command() with the same str credentials.
            ipmi = pyghmi_command.Command(bmc=self.host, userid=self.username.encode(),
                                          password=self._password.encode(), port=self.port)
            return ipmi.raw_command(netfn=netfn, command=command, data=data)

        try:
            response = _run_one_at_a_time((self.host, self.port), call, timeout)
        except TimeoutError as error:
            why = f" ({error})" if str(error) else ""
            raise BmcTimeout(self.address, f"no answer within {timeout:g}s{why}") from None
        except pyghmi_exceptions.IpmiException as error:
            raise self._error_from(str(error.args[0]) if error.args and error.args[0]
                                   else "no answer (session could not be set up)") from None
        except OSError as error:
            raise BmcError(self.address, scrub(str(error), self._password)) from None
        if response.get("error"):
            raise self._error_from(str(response["error"]))
        if response.get("code"):
            raise BmcError(self.address, f"IPMI completion code {response['code']:#04x}")
        return bytes(response.get("data") or b"")

    def _error_from(self, message: str) -> BmcError:
        message = scrub(message, self._password)
        if any(marker in message for marker in AUTH_FAILURE_MARKERS):
            return BmcAuthError(self.address, f"login refused for user {self.username!r}: "
                                f"{message}")
        if "timeout" in message.lower() or "no answer" in message or "no longer" in message:
            return BmcTimeout(self.address, message)
        return BmcError(self.address, message)

    # --- ipmitool ----------------------------------------------------------------------------

    def _ipmitool(self, args: list[str], timeout: float) -> str:
        retries = "1" if timeout < 7 else "2"  # ipmitool waits ~2 s (-R 1) or ~6 s (-R 2)
        # -v: ipmitool then says why a login failed (bad RAKP2 HMAC, unknown user, silence).
        command = [self.ipmitool, "-v", "-I", "lanplus", "-H", self.host, "-p", str(self.port),
                   "-U", self.username, "-E", "-N", "1", "-R", retries]
        if self.cipher_suite is not None:
            command += ["-C", str(self.cipher_suite)]
        env = dict(os.environ)
        env.pop("IPMITOOL_PASSWORD", None)  # -E prefers it over IPMI_PASSWORD
        env["IPMI_PASSWORD"] = self._password
        try:
            done = subprocess.run(command + args, env=env, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BmcTimeout(self.address, f"ipmitool got no answer within {timeout:g}s") \
                from None
        except OSError as error:
            raise BmcError(self.address, f"cannot run {self.ipmitool}: {error.strerror}") \
                from None
        if done.returncode != 0:
            raise self._ipmitool_error(done.stderr)
        return done.stdout

    def _ipmitool_error(self, stderr: str) -> BmcError:
        lines = [line.strip(" >") for line in scrub(stderr, self._password).splitlines()
                 if line.strip() and not line.startswith(("Loading IANA", "Using best"))]
        message = "; ".join(lines) or "ipmitool failed without a message"
        if any(marker in message for marker in AUTH_FAILURE_MARKERS):
            return BmcAuthError(self.address, f"login refused for user {self.username!r}: "
                                f"{message}")
        if "Get Auth Capabilities error" in message or "No response" in message:
            return BmcTimeout(self.address, f"no answer: {message}")
        return BmcError(self.address, message)


#: the pyghmi call still out per BMC (host, port), and the lock that guards the map
_IN_FLIGHT: dict[tuple[str, int], threading.Thread] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def _run_one_at_a_time(bmc: tuple[str, int], call: Callable[[], T], timeout: float) -> T:
    """``call()`` in a daemon thread, waited for at most ``timeout`` seconds; one per BMC.

    pyghmi's own retries can take several seconds before it gives up; this bounds the
    caller's wait. An abandoned call finishes (or fails) on its own in the background, and
    until it has, no new call to that BMC starts: pyghmi queues every call to a BMC behind
    the one its session is retrying, so calls abandoned each second while a BMC was away
    piled up faster than they drained, and the client never recovered (seen here: still
    no answer 40 s after the BMC was back). With one call at a time, pyghmi's own retries
    and re-login bring the session back, about 20 s after a 2 s absence (ipmitool, with a
    new session per call, answers at once).
    """
    deadline = time.monotonic() + timeout
    with _IN_FLIGHT_LOCK:
        earlier = _IN_FLIGHT.get(bmc)
    if earlier is not None and earlier.is_alive():
        earlier.join(max(0.0, deadline - time.monotonic()))
        if earlier.is_alive():
            raise TimeoutError("an earlier call to it is still unanswered")
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=runner, daemon=True, name="ipmi-call")
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT[bmc] = thread
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
