"""One persistent SSH connection per node (paramiko), reused by every command.

A fresh connection per probe costs a handshake (tens of ms) and hides the probe's own
latency; a persistent transport with keepalives answers in a few ms. Host keys are verified
against known_hosts unless the inventory explicitly turns that off (which is warned).

Monitors and attackers share the connection from several threads, one channel each. A
command that times out or fails *retires* the connection: later commands open a new one, and
the old one is closed once the last command still running on it is done. Closing it at once
would cut every other thread's command short; on a loaded machine, where one probe's short
timeout runs out, that was read as the node dropping the connection.
"""

from __future__ import annotations

import logging
import select
import shlex
import threading
import time
from collections.abc import Sequence

import paramiko

from ha_tests.errors import TransportError
from ha_tests.transport.base import CommandResult, Shell

log = logging.getLogger(__name__)


class SshShell(Shell):
    def __init__(self, node_name: str, address: str, *, user: str = "root", port: int = 22,
                 key_file: str | None = None, password: str | None = None,
                 known_hosts: str | None = None, verify_host_keys: bool = True,
                 connect_timeout: float = 5.0):
        self.node_name = node_name
        self.address = address
        self.user = user
        self.port = port
        self._key_file = key_file
        self._password = password
        self._known_hosts = known_hosts
        self._verify = verify_host_keys
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        #: connection -> commands running on it (a retired one is closed when this reaches 0)
        self._users: dict[paramiko.SSHClient, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SshShell({self.node_name}, {self.user}@{self.address}:{self.port})"

    def _connect(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        if self._verify:
            client.load_system_host_keys()
            if self._known_hosts:
                try:
                    client.load_host_keys(self._known_hosts)
                except OSError as exc:
                    raise TransportError(f"{self.node_name}: cannot read known_hosts "
                                         f"{self._known_hosts}: {exc.strerror}") from None
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            log.warning("%s: SSH host key verification is OFF (inventory ssh.verify_host_keys)",
                        self.node_name)
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(self.address, port=self.port, username=self.user,
                           key_filename=self._key_file, password=self._password,
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, allow_agent=False,
                           look_for_keys=False)
        except paramiko.BadHostKeyException:
            raise TransportError(f"{self.node_name}: host key of {self.address} does not match "
                                 "known_hosts (a different machine?)") from None
        except paramiko.SSHException as exc:
            text = str(exc)
            if "not found in known_hosts" in text:
                text = (f"host key of {self.address} is unknown; add it to known_hosts "
                        "(ssh-keyscan) or set ssh.verify_host_keys: false")
            raise TransportError(f"{self.node_name}: SSH to {self.address}:{self.port} failed: "
                                 f"{text}") from None
        except (TimeoutError, OSError) as exc:
            raise TransportError(f"{self.node_name}: cannot reach {self.address}:{self.port}: "
                                 f"{exc.strerror or exc}") from None
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(5)
        return client

    def _acquire(self) -> paramiko.SSHClient:
        """The kept connection (a new one if it is gone), counted as in use by the caller."""
        with self._lock:
            transport = self._client.get_transport() if self._client else None
            if transport is None or not transport.is_active():
                dead, self._client = self._client, None
                self._close_if_done_locked(dead)
                self._client = self._connect()
            self._users[self._client] = self._users.get(self._client, 0) + 1
            return self._client

    def _release(self, client: paramiko.SSHClient, *, retire: bool = False) -> None:
        """The caller is done with ``client``; ``retire``: no new command may use it."""
        with self._lock:
            self._users[client] = self._users.get(client, 0) - 1
            if retire and self._client is client:
                self._client = None
            self._close_if_done_locked(client)

    def _close_if_done_locked(self, client: paramiko.SSHClient | None) -> None:
        """A connection no longer kept for new commands is closed once none runs on it."""
        if client is None or client is self._client or self._users.get(client, 0) > 0:
            return
        self._users.pop(client, None)
        client.close()

    def run(self, argv: Sequence[str], *, timeout: float = 30.0,
            stdin: bytes | None = None) -> CommandResult:
        argv = tuple(str(a) for a in argv)
        command = shlex.join(argv)
        started = time.monotonic()
        deadline = started + timeout
        client, channel = self._open_channel(deadline)
        retire = False
        try:
            channel.settimeout(max(0.1, deadline - time.monotonic()))
            channel.exec_command(command)
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
            out, err = bytearray(), bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    channel.close()
                    retire = True  # a silent peer (powered off, cut off): reconnect next time
                    raise TransportError(f"{self.node_name}: '{argv[0]}' timed out after "
                                         f"{timeout:g} s")
                ready, _, _ = select.select([channel], [], [], min(remaining, 0.5))
                if ready or channel.recv_ready() or channel.recv_stderr_ready():
                    while channel.recv_ready():
                        out += channel.recv(65536)
                    while channel.recv_stderr_ready():
                        err += channel.recv_stderr(65536)
                if channel.exit_status_ready() and not channel.recv_ready() \
                        and not channel.recv_stderr_ready():
                    break
                if not client.get_transport() or not client.get_transport().is_active():
                    retire = True
                    raise TransportError(f"{self.node_name}: SSH connection lost")
            rc = channel.recv_exit_status()
            channel.close()
            transport = client.get_transport()
            if rc == -1 and not (transport and transport.is_active()):
                # no exit status because the connection went (a command killed by a signal
                # also has none, but over a connection that stays)
                retire = True
                raise TransportError(f"{self.node_name}: SSH connection lost before "
                                     f"'{argv[0]}' said how it ended")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            retire = True
            raise TransportError(f"{self.node_name}: SSH command failed: {exc!r}") from None
        finally:
            self._release(client, retire=retire)
        return CommandResult(argv, rc, out.decode(errors="replace"), err.decode(errors="replace"),
                             time.monotonic() - started)

    def _open_channel(self, deadline: float):
        """A session channel, on a new connection if the kept one turns out dead: a peer
        that closed an idle connection (a node that rebooted, a dropped session) is seen only
        when asked. Nothing has run yet, so asking once more is safe."""
        for attempt in (1, 2):
            client = self._acquire()
            try:
                return client, client.get_transport().open_session(
                    timeout=max(0.1, deadline - time.monotonic()))
            except (paramiko.SSHException, OSError, EOFError) as exc:
                self._release(client, retire=True)
                if attempt == 2 or time.monotonic() >= deadline:
                    raise TransportError(f"{self.node_name}: SSH command failed: cannot open "
                                         f"a session: {exc!r}") from None
        raise AssertionError("not reached")

    def close(self) -> None:
        """Close every connection, retired ones still in use included (the run is over)."""
        with self._lock:
            for client in {*self._users, *([self._client] if self._client else [])}:
                client.close()
            self._users.clear()
            self._client = None
