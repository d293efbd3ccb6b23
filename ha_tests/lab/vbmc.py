"""Virtual BMCs for the lab: one real IPMI v2 (RMCP+, lanplus) endpoint per node.

Each :class:`LabBmc` owns one UDP socket and is served by its own thread; its chassis power
commands drive a *power driver* (``state()``, ``on()``, ``off()``, ``cycle()``, ``reset()``,
``soft_off()``), in the lab ``ha_tests.lab.power.NodePower``.

Why not pyghmi's stock server as is:

* ``pyghmi.ipmi.private.serversession.ServerSession`` ignores the client's cipher-suite proposal
  and always answers with suite 3 (HMAC-SHA1) while reporting success. pyghmi's own client
  proposes suite 17 (HMAC-SHA256) first and trusts the answer, so it checks a 20-byte SHA-1
  RAKP2 code as a 32-byte SHA-256 one and dies in ``struct.pack``. :class:`RmcpPlusSession`
  negotiates for real: it accepts suites 3 and 17 and rejects anything else with the RMCP+
  status "no cipher suite match", which makes any client fall back cleanly.
* pyghmi's server feeds its socket to pyghmi's process-wide I/O thread, shared with every
  pyghmi *client* in the process, and routes sessions by client address and BMC port only
  (two BMCs on port 623 at different addresses collide). Here each BMC reads its own socket
  and finds sessions by the BMC-assigned session ID, as a real BMC does.

Run as ``python -m ha_tests.lab.vbmc --config FILE`` (JSON, see docs/contracts.rst).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import hashlib
import hmac
import importlib
import json
import logging
import os
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from pyghmi.ipmi import bmc as pyghmi_bmc
from pyghmi.ipmi.private import constants as ipmi_constants
from pyghmi.ipmi.private import serversession
from pyghmi.ipmi.private import session as ipmi_session

log = logging.getLogger("ha_tests.lab.vbmc")

RMCP_IPMI_HEADER = b"\x06\x00\xff\x07"
AUTHTYPE_RMCP_PLUS = 6
PAYLOAD_IPMI, PAYLOAD_SOL = 0x00, 0x01
PAYLOAD_OPEN_SESSION_REQUEST = 0x10
PAYLOAD_RAKP1, PAYLOAD_RAKP3 = 0x12, 0x14

# RMCP+ status codes (IPMI v2 table 13-15) that we answer with.
STATUS_OK = 0x00
STATUS_INSUFFICIENT_RESOURCES = 0x01
STATUS_INVALID_ROLE = 0x09
STATUS_UNAUTHORIZED_NAME = 0x0D
STATUS_INVALID_INTEGRITY_CHECK = 0x0F
STATUS_NO_CIPHER_SUITE_MATCH = 0x11

# IPMI completion codes.
CC_OK = 0x00
CC_INVALID_FIELD = 0xCC
CC_UNSPECIFIED = 0xFF

# Idle sessions are forgotten after this long. It must outlast pyghmi's client-side session
# reuse window (about 45 s), else a reused session would be silently dropped.
ESTABLISHED_IDLE_S = 120.0
HANDSHAKE_IDLE_S = 10.0
MAX_SESSIONS_PER_BMC = 64


@dataclasses.dataclass(frozen=True)
class CipherSuite:
    """One RMCP+ cipher suite: its algorithm numbers and what they mean for hashing."""

    suite_id: int
    auth_algorithm: int  # IPMI table 13-17
    integrity_algorithm: int  # table 13-18
    confidentiality_algorithm: int  # table 13-19 (1 = AES-CBC-128)
    hash: Callable[..., Any]
    integrity_len: int  # truncated HMAC length for RAKP4 and per-packet integrity

    def record(self) -> bytes:
        """This suite as a 'Get Channel Cipher Suites' record (IPMI v2 table 22-19)."""
        return bytes([0xC0, self.suite_id, self.auth_algorithm,
                      0x40 | self.integrity_algorithm, 0x80 | self.confidentiality_algorithm])


CIPHER_SUITES = {
    suite.suite_id: suite
    for suite in (
        CipherSuite(3, 1, 1, 1, hashlib.sha1, 12),  # RAKP-HMAC-SHA1, HMAC-SHA1-96, AES
        CipherSuite(17, 3, 4, 1, hashlib.sha256, 16),  # RAKP-HMAC-SHA256, HMAC-SHA256-128, AES
    )
}
SUITE_BY_ALGORITHMS = {
    (s.auth_algorithm, s.integrity_algorithm, s.confidentiality_algorithm): s
    for s in CIPHER_SUITES.values()
}

# Chassis Control directives (IPMI table 28-4) -> power driver method.
CHASSIS_DIRECTIVES = {0: "off", 1: "on", 2: "cycle", 3: "reset", 5: "soft_off"}


class PowerDriver(Protocol):
    """What a virtual BMC drives: ha_tests.lab.power.NodePower or any look-alike."""

    def state(self) -> bool: ...
    def on(self) -> None: ...
    def off(self) -> None: ...
    def cycle(self) -> None: ...
    def reset(self) -> None: ...
    def soft_off(self) -> None: ...


def _u32(raw: bytes | bytearray) -> int:
    return struct.unpack("<I", bytes(raw))[0]


class RmcpPlusSession(serversession.ServerSession):
    """Server side of one RMCP+ session, with real cipher-suite negotiation.

    Reuses pyghmi's packet framing, integrity and AES code (they follow ``currhashlib``,
    ``currhashlen``, ``k1`` and ``aeskey``), replaces the handshake, and keeps itself out of
    pyghmi's process-wide session tables: its :class:`LabBmc` routes packets to it.
    """

    def __new__(cls, *args, **kwargs):
        # Skip pyghmi's Session.__new__, which looks sessions up in process-wide tables.
        return object.__new__(cls)

    def __init__(self, lab_bmc: LabBmc, clientaddr, request: bytearray):
        self.bmc = lab_bmc
        self.socket = lab_bmc.serversocket
        self.sockaddr = clientaddr
        self.authdata = lab_bmc.authdata
        self.kg = lab_bmc.kg
        self.uuid = lab_bmc.uuid
        self.servermode = True
        self.ipmiversion = 2.0
        self.authtype = AUTHTYPE_RMCP_PLUS
        self.rqaddr = ipmi_constants.IPMI_BMC_ADDRESS
        self.rqlun = None
        self.sequencenumber = 0
        self.sessionid = 0
        self.localsid = None
        self.integrityalgo = 0
        self.confalgo = 0
        self.k1 = None
        self.aeskey = None
        self.lastpayload = None
        self.pendingpayloads = []
        self.broken = False
        self.suite: CipherSuite | None = None
        self.established = False
        self.closed = False
        self.last_seen = time.monotonic()
        self.managedsessionid = lab_bmc.new_session_id()
        self.clientsessionid = bytes(request[4:8])
        status, response = self._negotiate(bytes(request))
        self.closed = status != STATUS_OK
        self._send(ipmi_constants.payload_types["rmcpplusopenresponse"], response)

    def _send(self, payload_type: int, payload: bytes | bytearray) -> None:
        self.send_payload(bytearray(payload), payload_type, retry=False)

    def _negotiate(self, request: bytes) -> tuple[int, bytes]:
        """Accept the proposed algorithms if they form suite 3 or 17, else refuse them."""
        tag = request[0]
        algorithms = []
        for offset, payload_type in ((8, 0), (16, 1), (24, 2)):
            field = request[offset:offset + 8]
            if len(field) < 8 or field[0] != payload_type:
                algorithms.append(None)
            else:
                algorithms.append(field[4] & 0x3F)
        suite = SUITE_BY_ALGORITHMS.get(tuple(algorithms))
        if suite is None or suite.suite_id not in self.bmc.cipher_suites:
            log.info("%s: refused cipher proposal %s from %s", self.bmc.name, algorithms,
                     self.sockaddr)
            return STATUS_NO_CIPHER_SUITE_MATCH, bytes([tag, STATUS_NO_CIPHER_SUITE_MATCH, 0, 0]) \
                + self.clientsessionid
        self.suite = suite
        self.currhashlib = suite.hash
        self.currhashlen = suite.integrity_len
        max_privilege = 4  # administrator: the lab has one user, an administrator
        return STATUS_OK, (
            bytes([tag, STATUS_OK, max_privilege, 0]) + self.clientsessionid
            + self.managedsessionid
            + bytes([0, 0, 0, 8, suite.auth_algorithm, 0, 0, 0])
            + bytes([1, 0, 0, 8, suite.integrity_algorithm, 0, 0, 0])
            + bytes([2, 0, 0, 8, suite.confidentiality_algorithm, 0, 0, 0])
        )

    def _hmac(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, self.suite.hash).digest()

    def _got_rakp1(self, data):
        tag = data[0]
        reject = bytes([tag, 0, 0, 0]) + self.clientsessionid
        if self.suite is None or self.established:
            return
        self.Rm = bytes(data[8:24])
        self.rolem = data[24]
        self.username = bytes(data[28:28 + data[27]])
        role = self.rolem & 0x0F
        password = self.authdata.get(self.username.decode("utf-8", "replace"))
        status = STATUS_OK
        if role > 4:
            status = STATUS_INVALID_ROLE
        elif not self.username or password is None:
            status = STATUS_UNAUTHORIZED_NAME
        if status != STATUS_OK:
            log.warning("%s: refused login of user %r from %s (RMCP+ status %#x)", self.bmc.name,
                        self.username.decode("utf-8", "replace"), self.sockaddr, status)
            self.closed = True
            self._send(ipmi_constants.payload_types["rakp2"],
                       bytes([tag, status]) + reject[2:])
            return
        self.maxpriv = role or 4
        self.kuid = password.encode("utf-8")
        self.kg_key = self.kg or self.kuid
        self.Rc = os.urandom(16)
        self.uuiddata = self.uuid.bytes
        role_and_name = bytes([self.rolem, len(self.username)]) + self.username
        authcode = self._hmac(self.kuid, self.clientsessionid + self.managedsessionid + self.Rm
                              + self.Rc + self.uuiddata + role_and_name)
        self._send(ipmi_constants.payload_types["rakp2"],
                   bytes([tag, STATUS_OK, 0, 0]) + self.clientsessionid + self.Rc
                   + self.uuiddata + authcode)

    def _got_rakp3(self, data):
        tag = data[0]
        if self.suite is None or self.established or not hasattr(self, "Rc"):
            return
        if data[1] != STATUS_OK:  # the client did not like our RAKP2 (e.g. wrong password)
            self.closed = True
            return
        role_and_name = bytes([self.rolem, len(self.username)]) + self.username
        expected = self._hmac(self.kuid, self.Rc + self.clientsessionid + role_and_name)
        if not hmac.compare_digest(expected, bytes(data[8:])):
            log.warning("%s: bad RAKP3 from %s (wrong password?)", self.bmc.name, self.sockaddr)
            self.closed = True
            self._send(ipmi_constants.payload_types["rakp4"],
                       bytes([tag, STATUS_INVALID_INTEGRITY_CHECK, 0, 0]) + self.clientsessionid)
            return
        self.sik = self._hmac(self.kg_key, self.Rm + self.Rc + role_and_name)
        self.k1 = self._hmac(self.sik, b"\x01" * 20)
        self.aeskey = self._hmac(self.sik, b"\x02" * 20)[:16]
        icv = self._hmac(self.sik, self.Rm + self.managedsessionid + self.uuiddata)
        self._send(ipmi_constants.payload_types["rakp4"],
                   bytes([tag, STATUS_OK, 0, 0]) + self.clientsessionid
                   + icv[:self.suite.integrity_len])
        # From here on every packet is authenticated and encrypted.
        self.localsid = _u32(self.managedsessionid)
        self.sessionid = _u32(self.clientsessionid)
        self.integrityalgo = self.suite.integrity_algorithm
        self.confalgo = "aes"
        self.sequencenumber = 1
        self.clientpriv = self.maxpriv
        self.ipmicallback = self.handle_client_request
        self.established = True
        log.debug("%s: session %#x established with %s (cipher suite %d)", self.bmc.name,
                  self.localsid, self.sockaddr, self.suite.suite_id)

    def close_server_session(self):
        self.closed = True

    def expired(self, now: float) -> bool:
        limit = ESTABLISHED_IDLE_S if self.established else HANDSHAKE_IDLE_S
        return self.closed or now - self.last_seen > limit


class LabBmc(pyghmi_bmc.Bmc):
    """A virtual BMC for one node: IPMI chassis power -> the node's power driver.

    Chassis control runs the driver on a per-BMC worker and answers as soon as the action is
    done or ``ack_within`` seconds have passed, whichever comes first: fast drivers give
    "command returned => node is off"; slow ones behave like a real BMC (answer now, act
    soon) instead of making clients retransmit. A retransmitted request (same session,
    sequence and data) gets the earlier answer again and never runs the action twice.
    """

    # Cipher suites offered and accepted; a subclass may narrow them (e.g. to test fallback).
    cipher_suites: tuple[int, ...] = (3, 17)

    def __init__(self, name: str, driver: PowerDriver, username: str, password: str,
                 address: str = "127.0.0.1", port: int = 623, *, ack_within: float = 0.4,
                 bmc_uuid: uuid.UUID | None = None):
        # IpmiServer.__init__ is not called: it would hand our socket to pyghmi's
        # process-wide I/O thread. These are the attributes pyghmi's Bmc code reads.
        self.name = name
        self.driver = driver
        self.address = address
        self.authdata = {username: password}
        self.kg = None
        self.uuid = bmc_uuid or uuid.uuid4()
        self.revision = 0
        self.deviceid = 0x20
        self.firmwaremajor = 1
        self.firmwareminor = 0
        self.ipmiversion = 0x02  # IPMI 2.0, as Get Device ID encodes it
        self.additionaldevices = 0
        self.mfgid = 0
        self.prodid = 0
        self.timeout = 60
        self.pktqueue = []
        # Get Channel Authentication Capabilities answer: channel 1, IPMI 2.0 only,
        # non-null user names.
        self.authcap = struct.pack("9B", 0, 1, 0x80, 0x04, 0x02, 0, 0, 0, 0)
        self.ack_within = ack_within
        self._sessions: dict[bytes, RmcpPlusSession] = {}
        self._last_control: dict[int, tuple[tuple, int]] = {}
        self._actions = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"vbmc-{name}-power")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.serversocket = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.serversocket.bind((address, port))
        except OSError:
            self.serversocket.close()
            raise
        self.port = self.serversocket.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = threading.Event()

    def __repr__(self) -> str:
        return f"LabBmc({self.name!r}, {self.address}:{self.port})"

    # --- serving -------------------------------------------------------------------------

    def serve_forever(self) -> None:
        """Answer IPMI on this BMC's socket until :meth:`stop` is called."""
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            readable, _, _ = select.select([self.serversocket, self._wake_r], [], [], 5.0)
            if self.serversocket in readable:
                try:
                    data, clientaddr = self.serversocket.recvfrom(4096)
                except OSError:
                    continue
                try:
                    self._dispatch(bytearray(data), clientaddr)
                except Exception:  # one malformed packet must not take the BMC down
                    log.exception("%s: error handling a packet from %s", self.name, clientaddr)
            now = time.monotonic()
            if now - last_sweep > 5.0:
                self._forget_idle_sessions(now)
                last_sweep = now

    def stop(self) -> None:
        """Make :meth:`serve_forever` return soon; safe from any thread."""
        self._stopping.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def close(self) -> None:
        """Release the socket and the power worker (after serve_forever returned)."""
        self._actions.shutdown(wait=True)
        for sock in (self.serversocket, self._wake_r, self._wake_w):
            sock.close()

    def new_session_id(self) -> bytes:
        while True:
            candidate = os.urandom(4)
            if candidate != b"\0\0\0\0" and candidate not in self._sessions:
                return candidate

    def _dispatch(self, data: bytearray, clientaddr) -> None:
        if len(data) < 16 or data[:4] != RMCP_IPMI_HEADER:
            return
        if data[4] != AUTHTYPE_RMCP_PLUS:  # IPMI 1.5 framing: only sessionless requests
            self.sessionless_data(data, clientaddr)
            return
        payload_type = data[5] & 0x3F
        if payload_type == PAYLOAD_OPEN_SESSION_REQUEST:
            self._open_session(data[16:], clientaddr)
            return
        if payload_type in (PAYLOAD_RAKP1, PAYLOAD_RAKP3):
            session_id = bytes(data[20:24])
        elif payload_type in (PAYLOAD_IPMI, PAYLOAD_SOL):
            session_id = bytes(data[6:10])
            if session_id == b"\0\0\0\0":
                self.sessionless_data(data, clientaddr)
                return
        else:
            return
        session = self._sessions.get(session_id)
        if session is None or session.sockaddr != clientaddr:
            return
        session.last_seen = time.monotonic()
        session._handle_ipmi_packet(data, sockaddr=clientaddr)
        if session.closed:
            self._drop_session(session_id)

    def _open_session(self, request: bytearray, clientaddr) -> None:
        if len(request) < 8:
            return
        self._forget_idle_sessions(time.monotonic())
        if len(self._sessions) >= MAX_SESSIONS_PER_BMC:
            oldest = min(self._sessions, key=lambda sid: self._sessions[sid].last_seen)
            self._drop_session(oldest)
        session = RmcpPlusSession(self, clientaddr, request)
        if not session.closed:
            self._sessions[session.managedsessionid] = session

    def _drop_session(self, session_id: bytes) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self._last_control.pop(id(session), None)

    def _forget_idle_sessions(self, now: float) -> None:
        for session_id, session in list(self._sessions.items()):
            if session.expired(now):
                self._drop_session(session_id)

    def send_cipher_suites(self, myaddr, mylun, clientaddr, clientlun, clientseq, data,
                           sockaddr):
        """Answer 'Get Channel Cipher Suites' with the suites we really support."""
        list_index = data[22] & 0x3F if len(data) > 22 else 0
        records = b"".join(CIPHER_SUITES[s].record() for s in sorted(self.cipher_suites))
        chunk = records[16 * list_index:16 * (list_index + 1)]
        ipmi_header = bytearray([clientaddr, clientlun | (7 << 2)])
        ipmi_header.append(ipmi_session._checksum(*ipmi_header))
        body = bytearray([myaddr, mylun | (clientseq << 2), 0x54, CC_OK, 0x01]) + chunk
        body.append(ipmi_session._checksum(*body))
        message = ipmi_header + body
        packet = bytearray(RMCP_IPMI_HEADER) + bytes([AUTHTYPE_RMCP_PLUS, PAYLOAD_IPMI]) \
            + bytes(8) + struct.pack("<H", len(message)) + message
        ipmi_session._io_sendto(self.serversocket, packet, sockaddr)

    # --- chassis ---------------------------------------------------------------------------

    def get_power_state(self):
        return "on" if self.driver.state() else "off"

    def get_chassis_status(self, session):
        try:
            powered = self.driver.state()
        except Exception:
            log.exception("%s: power driver failed to report state", self.name)
            return session.send_ipmi_response(code=CC_UNSPECIFIED)
        session.send_ipmi_response(data=[1 if powered else 0, 0, 0])

    def get_system_guid(self):
        return self.uuid

    def control_chassis(self, request, session):
        data = bytes(request["data"])
        directive = data[0] & 0x0F if data else None
        action = CHASSIS_DIRECTIVES.get(directive)
        if action is None:
            return session.send_ipmi_response(code=CC_INVALID_FIELD)
        request_key = (session.seqlun, session.clientnetfn, session.clientcommand, data)
        previous = self._last_control.get(id(session))
        if previous is not None and previous[0] == request_key:
            return session.send_ipmi_response(code=previous[1])  # a retransmission
        code = self._run_action(action, session.sockaddr)
        self._last_control[id(session)] = (request_key, code)
        session.send_ipmi_response(code=code)

    def _run_action(self, action: str, clientaddr) -> int:
        log.info("%s: chassis power %s (requested by %s)", self.name, action, clientaddr[0])
        future = self._actions.submit(getattr(self.driver, action))
        try:
            future.result(timeout=self.ack_within)
        except concurrent.futures.TimeoutError:
            future.add_done_callback(lambda f: self._log_late_outcome(action, f))
            return CC_OK
        except Exception:
            log.exception("%s: power driver failed to %s", self.name, action)
            return CC_UNSPECIFIED
        return CC_OK

    def _log_late_outcome(self, action: str, future: concurrent.futures.Future) -> None:
        if future.exception() is not None:
            log.error("%s: power driver failed to %s: %s", self.name, action,
                      future.exception())

    # The pyghmi Bmc interface, for callers that use it directly.
    def power_off(self):
        return self._run_action("off", ("local",))

    def power_on(self):
        return self._run_action("on", ("local",))

    def power_cycle(self):
        return self._run_action("cycle", ("local",))

    def power_reset(self):
        return self._run_action("reset", ("local",))

    def power_shutdown(self):
        return self._run_action("soft_off", ("local",))


class BmcService:
    """Several :class:`LabBmc` served at once, one thread each, stopped together."""

    def __init__(self, bmcs: Iterable[LabBmc]):
        self.bmcs = list(bmcs)
        self._threads: list[threading.Thread] = []

    def start(self) -> BmcService:
        for lab_bmc in self.bmcs:
            thread = threading.Thread(target=lab_bmc.serve_forever, daemon=True,
                                      name=f"vbmc-{lab_bmc.name}")
            thread.start()
            self._threads.append(thread)
        return self

    def all_alive(self) -> bool:
        """True while every BMC thread still serves (a dead one means a bug, see the log)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 5.0) -> None:
        for lab_bmc in self.bmcs:
            lab_bmc.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for lab_bmc in self.bmcs:
            lab_bmc.close()
        self._threads.clear()

    def __enter__(self) -> BmcService:
        return self if self._threads else self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve_bmcs(bmcs: Iterable[LabBmc]) -> BmcService:
    """Start serving the given BMCs (one thread each); call ``.stop()`` or use ``with``."""
    return BmcService(bmcs).start()


# --- the vbmc process ------------------------------------------------------------------------


class ConfigError(Exception):
    """The vbmc config file is unusable; the message says why (never with the password)."""


def read_password_file(path: str) -> str:
    """The password in ``path``, which must be a regular file readable by its owner only."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise ConfigError(f"password_file {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"password_file {path}: not a regular file")
    if info.st_mode & 0o077:
        raise ConfigError(f"password_file {path}: mode {stat.S_IMODE(info.st_mode):04o}, "
                          "must not be readable by group or others (use 0600)")
    with open(path, encoding="utf-8") as handle:
        password = handle.read().rstrip("\r\n")
    if not password:
        raise ConfigError(f"password_file {path}: empty")
    return password


def load_driver_class(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"power_driver {spec!r}: expected 'module:Class'")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"power_driver {spec!r}: {error}") from None


def build_bmcs(config: Mapping[str, Any]) -> list[LabBmc]:
    """One bound (not yet serving) LabBmc per node of a vbmc config mapping."""
    for key in ("username", "password_file", "power_driver", "nodes"):
        if key not in config:
            raise ConfigError(f"missing key {key!r}")
    password = read_password_file(config["password_file"])
    driver_class = load_driver_class(config["power_driver"])
    power_args = dict(config.get("power_args") or {})
    bmcs: list[LabBmc] = []
    try:
        for node in config["nodes"]:
            driver = driver_class(node["name"], **power_args)
            try:
                bmcs.append(LabBmc(node["name"], driver, config["username"], password,
                                   address=node["address"], port=int(node.get("port", 623))))
            except OSError as error:
                raise ConfigError(f"node {node['name']}: cannot bind "
                                  f"{node['address']}:{node.get('port', 623)}: "
                                  f"{error.strerror}") from None
    except BaseException:
        for lab_bmc in bmcs:
            lab_bmc.close()
        raise
    return bmcs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.vbmc",
                                     description="Serve one virtual IPMI BMC per lab node.")
    parser.add_argument("--config", required=True, help="JSON config (see docs/contracts.rst)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(),
                        format="%(asctime)s vbmc %(levelname)s %(message)s")
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
        bmcs = build_bmcs(config)
    except (OSError, ValueError, ConfigError, TypeError, KeyError) as error:
        log.error("config %s: %s", args.config, error)
        return 2
    service = serve_bmcs(bmcs)
    for lab_bmc in bmcs:
        log.info("%s: BMC on %s:%d", lab_bmc.name, lab_bmc.address, lab_bmc.port)
    log.info("serving %d BMC(s)", len(bmcs))
    while not stop.wait(1.0):
        if not service.all_alive():
            log.error("a BMC thread died; stopping")
            service.stop()
            return 1
    service.stop()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
