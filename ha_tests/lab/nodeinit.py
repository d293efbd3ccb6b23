"""PID 1 of a lab node: boots it, supervises its services, answers ``hactl``.

A node is a network namespace with its own PID, mount and UTS namespaces; this program is its
first process, so killing it (power off) makes the kernel kill everything on the node at once.
It does what an init system does on a real controller, no more:

* "boot": set the hostname, empty the node's run directory (its /run), reset the node's
  network to its configured state (a powered-off node loses the VIP it held, as a rebooted
  host does), start sshd and the node's services;
* reap every orphan (it is PID 1 of its namespace);
* restart a service whose main process fails, like systemd's ``Restart=on-failure`` with
  ``RestartSec=2``: a non-zero exit or a kill by a signal other than TERM/INT/HUP/PIPE. When
  the main process ends, what remains of its process group is killed (systemd kills what is
  left in the unit's cgroup), so a restarted service never fights its own orphans for a port;
* obey ``hactl start|stop|restart|status|list`` over a Unix socket in the node's directory.
  A ``stop`` is never followed by an automatic restart;
* in the kolla style (ha_tests/lab/kolla.py), start the node's podman containers at boot, as
  a kolla controller's container engine does; podman's restart policy, not this init,
  restarts a crashed one. ``hactl`` lists and controls them through podman.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

RESTART_SEC = 2.0
STOP_TIMEOUT = 10.0
CLEAN_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE}

PODMAN = "/usr/bin/podman"
#: how often a kolla-style node looks for containers that died (see _clean_up_died)
CONTAINER_WATCH_SEC = 2.0
PODMAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}

# systemctl-like exit codes
RC_OK, RC_FAILED, RC_STOPPED, RC_UNKNOWN = 0, 1, 3, 4



def _make_fresh(mask: dict) -> None:
    """A mask whose source is emptied at every boot, as a tmpfs /run or /dev/shm is: a
    directory made anew (``mode``, ``owner`` uid:gid), or an empty file; the host path it
    binds over is made too when missing (``/run/crm``, ``/run/corosync.pid``)."""
    source = Path(mask["source"])
    if mask.get("directory"):
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        if mask.get("owner"):
            uid, gid = (int(x) for x in mask["owner"].split(":"))
            os.chown(source, uid, gid)
        source.chmod(int(mask.get("mode", "755"), 8))
        os.makedirs(mask["path"], exist_ok=True)
    else:
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("")
        if not os.path.exists(mask["path"]):
            Path(mask["path"]).touch()


class Service:
    def __init__(self, spec: dict, log_dir: Path):
        self.name: str = spec["name"]
        self.path: str = spec["path"]
        self.argv: list[str] = spec["argv"]
        self.env: dict[str, str] = spec.get("env", {})
        self.log = log_dir / f"{self.name}.log"
        self.pid: int | None = None
        self.wanted = True
        self.restart_timer: threading.Timer | None = None
        self.since = 0.0
        self.last_exit = ""
        self.restarts = 0

    @property
    def state(self) -> str:
        if self.pid is not None:
            return "running" if self.wanted else "stopping"
        if self.restart_timer is not None:
            return "auto-restart"
        return "stopped" if not self.last_exit.startswith("failed") else "failed"

    def describe(self) -> dict:
        return {"name": self.name, "state": self.state, "pid": self.pid,
                "since": self.since if self.pid else None, "restarts": self.restarts,
                "last_exit": self.last_exit}


class Container:
    """A kolla-style podman container of this node: created once, started at every boot."""

    def __init__(self, spec: dict, log_dir: Path):
        self.name: str = spec["name"]
        self.create: list[str] = spec["create"]
        self.log = log_dir / "podman.log"

    def podman(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        return self._run([PODMAN, *args], timeout)

    def _run(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        """Run a podman command; its stderr and exit code go to the node's podman.log.

        This is PID 1, whose reaper thread may reap any child first (subprocess would then
        read exit code 0): a shell runs the command and prints its exit code instead."""
        try:
            ran = subprocess.run(["/bin/sh", "-c", '"$@"; rc=$?; echo; echo "$rc"', "sh", *argv],
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                 timeout=timeout, env=PODMAN_ENV)
            out, _, code = ran.stdout.rstrip("\n").rpartition("\n")
            done = subprocess.CompletedProcess(
                argv, int(code) if code.isdigit() else RC_FAILED, out, ran.stderr)
        except subprocess.TimeoutExpired:
            done = subprocess.CompletedProcess(argv, RC_FAILED, "", f"timed out ({timeout} s)")
        if done.returncode != 0 or argv[1:2] != ["inspect"] and argv[1:2] != ["ps"]:
            with open(self.log, "a") as log:
                log.write(f"{time.strftime('%H:%M:%S')} {' '.join(argv[:3])} ... "
                          f"{self.name}: rc {done.returncode} {done.stderr.strip()}\n")
        return done

    def boot(self) -> None:
        """Create the container if this node has none of that name yet, then start it (a
        few tries: a loaded machine can make the first podman calls of a boot fail)."""
        for _attempt in range(3):
            if self.podman("container", "exists", self.name).returncode != 0:
                self._run(self.create, 300.0)
            if self.podman("start", self.name).returncode == 0:
                print(f"{self.name}: container started", flush=True)
                return
            time.sleep(1.0)
        print(f"{self.name}: container failed to start; see {self.log}", flush=True)

    def running(self) -> bool:
        out = self.podman("inspect", "-f", "{{.State.Running}}", self.name).stdout
        return out.strip() == "true"

    def handle(self, command: str) -> tuple[int, str]:
        if command == "status":
            running = self.running()
            return (RC_OK if running else RC_STOPPED), \
                f"{self.name}: {'running' if running else 'stopped'} (podman container)"
        done = self.podman(command, self.name, timeout=STOP_TIMEOUT + 30)
        word = {"start": "started", "stop": "stopped", "restart": "restarted"}[command]
        return (RC_OK, f"{self.name} {word}") if done.returncode == 0 else \
            (RC_FAILED, f"podman {command} {self.name} failed; see {self.log}")


def podman_states(containers: dict[str, Container]) -> dict[str, str]:
    """One ``podman ps -a`` for all: name -> podman's state (running, exited, stopped...)."""
    if not containers:
        return {}
    first = next(iter(containers.values()))
    try:
        listed = json.loads(first.podman("ps", "-a", "--format", "json").stdout or "[]")
    except ValueError:
        listed = []
    states = {}
    for item in listed:
        names = item.get("Names") or []
        for name in [names] if isinstance(names, str) else names:
            states[name] = str(item.get("State") or "")
    return {name: states.get(name, "absent") for name in containers}


def container_states(containers: dict[str, Container]) -> dict[str, str]:
    """name -> running | stopped, as ``hactl list`` says it."""
    return {name: "running" if state == "running" else "stopped"
            for name, state in podman_states(containers).items()}


class Init:
    def __init__(self, spec: dict):
        self.spec = spec
        self.dir = Path(spec["dir"])
        self.log_dir = self.dir / "log"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Condition()
        self.services = {s["name"]: Service(s, self.log_dir) for s in spec["services"]}
        self.containers = {c["name"]: Container(c, self.log_dir)
                           for c in spec.get("containers", [])}
        self.by_pid: dict[int, Service] = {}
        self.shutting_down = False

    # -- boot ---------------------------------------------------------------------------------
    def boot(self) -> None:
        socket.sethostname(self.spec["name"])
        # The node's /run: emptied at boot, so no stale pid file outlives a power cut.
        run_dir = Path(self.spec["run_dir"])
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        self._network()
        for directory in self.spec.get("directories", []):
            os.makedirs(directory, exist_ok=True)
        self._mask_files()
        self._mount_cgroups()
        threading.Thread(target=self._serve_control, daemon=True, name="hactl").start()
        with self.lock:
            for service in self.services.values():
                self._spawn(service)
        if self.containers:
            threading.Thread(target=self._boot_containers, daemon=True,
                             name="containers").start()

    def _mount_cgroups(self) -> None:
        """The cgroup hierarchies crun accepts, in this node's mount namespace only (a node's
        fresh /sys has none; crun refuses the host's v1 + cgroup2 "hybrid" mix)."""
        for args in self.spec.get("cgroup_mounts", []):
            os.makedirs(args[-1], exist_ok=True)
            subprocess.run(["mount", *args], check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def _boot_containers(self) -> None:
        for container in self.containers.values():
            container.boot()
        while not self.shutting_down:
            time.sleep(CONTAINER_WATCH_SEC)
            self._clean_up_died()

    def _clean_up_died(self) -> None:
        """Do for a container whose process died what conmon's exit command should do
        (``podman container cleanup``, which applies the restart policy: ``unless-stopped``
        restarts it, never after a ``podman stop``). Here conmon exits without running that
        command, leaving the container "stopped" (died, not cleaned up) for ever."""
        for name, state in podman_states(self.containers).items():
            if state == "stopped" and not self.shutting_down:
                print(f"{name}: container died; podman container cleanup", flush=True)
                self.containers[name].podman("container", "cleanup", name)

    def _mask_files(self) -> None:
        """Hide host files the node must not see, in the node's own mount namespace: the host
        user's ~/.bashrc, which bash runs for every command sshd starts (on this kind of
        machine it runs ``pyenv rehash``, whose lock an SSH session cut mid-command leaves
        behind; every later command on every node then waits a minute for it)."""
        for mask in self.spec.get("masks", []):
            if mask.get("fresh"):
                _make_fresh(mask)
            if os.path.exists(mask["path"]):
                subprocess.run(["mount", "--bind", mask["source"], mask["path"]], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _network(self) -> None:
        net = self.spec.get("network", {})
        for key, value in net.get("sysctls", {}).items():
            try:
                Path("/proc/sys", key).write_text(f"{value}\n")
            except OSError as error:
                print(f"sysctl {key}: {error}", flush=True)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
        for ifname, addresses in net.get("interfaces", {}).items():
            subprocess.run(["ip", "addr", "flush", "dev", ifname], check=False)
            for address in addresses:
                subprocess.run(["ip", "addr", "add", address, "dev", ifname], check=False)
            subprocess.run(["ip", "link", "set", ifname, "up"], check=False)

    # -- processes ----------------------------------------------------------------------------
    def _spawn(self, service: Service) -> bool:
        """Start a service's main process in its own session (caller holds the lock)."""
        service.restart_timer = None
        if service.pid is not None or self.shutting_down:
            return True
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
        env.update(service.env)
        log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            pid = os.posix_spawn(service.path, service.argv, env, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(service.log), log_flags, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ], setsid=True)
        except OSError as error:
            service.last_exit = f"failed to start: {error}"
            print(f"{service.name}: {service.last_exit}", flush=True)
            return False
        service.pid = pid
        service.since = time.time()
        self.by_pid[pid] = service
        print(f"{service.name}: started (pid {pid})", flush=True)
        return True

    def reap_forever(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.2)
                continue
            with self.lock:
                service = self.by_pid.pop(pid, None)
                if service is not None:
                    self._exited(service, status)
                self.lock.notify_all()

    def _exited(self, service: Service, status: int) -> None:
        pgid = service.pid
        service.pid = None
        try:
            os.killpg(pgid, signal.SIGKILL)  # what is left of the service goes with it
        except OSError:
            pass
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            failed = sig not in CLEAN_SIGNALS
            how = f"killed by {signal.Signals(sig).name}"
        else:
            code = os.WEXITSTATUS(status)
            failed = code != 0
            how = f"exit code {code}"
        service.last_exit = ("failed: " if failed else "") + how
        print(f"{service.name}: main process {pgid} {how}", flush=True)
        if failed and service.wanted and not self.shutting_down:
            service.restarts += 1
            timer = threading.Timer(RESTART_SEC, self._restart_due, [service])
            timer.daemon = True
            service.restart_timer = timer
            timer.start()

    def _restart_due(self, service: Service) -> None:
        with self.lock:
            if service.restart_timer is not None and service.wanted:
                print(f"{service.name}: restarting", flush=True)
                self._spawn(service)

    # -- control --------------------------------------------------------------------------------
    def start(self, service: Service) -> tuple[int, str]:
        with self.lock:
            service.wanted = True
            if service.restart_timer is not None:
                service.restart_timer.cancel()
                service.restart_timer = None
            if service.pid is not None:
                return RC_OK, f"{service.name} is already running"
            ok = self._spawn(service)
        return (RC_OK, f"{service.name} started") if ok else (RC_FAILED, service.last_exit)

    def stop(self, service: Service, timeout: float = STOP_TIMEOUT) -> tuple[int, str]:
        with self.lock:
            service.wanted = False
            if service.restart_timer is not None:
                service.restart_timer.cancel()
                service.restart_timer = None
            pid = service.pid
            if pid is None:
                return RC_OK, f"{service.name} is not running"
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(pid, sig)
                except OSError:
                    pass
                deadline = time.monotonic() + wait
                while service.pid == pid and time.monotonic() < deadline:
                    self.lock.wait(deadline - time.monotonic())
                if service.pid != pid:
                    return RC_OK, f"{service.name} stopped"
        return RC_FAILED, f"{service.name} did not stop"

    def handle(self, request: dict) -> tuple[int, str]:
        command = request.get("command")
        name = request.get("service")
        if command == "list":
            with self.lock:
                items = [s.describe() for s in self.services.values()]
            items += [{"name": n, "state": state, "pid": None, "container": True}
                      for n, state in container_states(self.containers).items()]
            return RC_OK, json.dumps(items)
        if name in self.containers and command in ("start", "stop", "restart", "status"):
            return self.containers[name].handle(command)
        service = self.services.get(name or "")
        if service is None:
            return RC_UNKNOWN, f"Unit {name}.service could not be found."
        if command == "status":
            with self.lock:
                info = service.describe()
            text = f"{service.name}: {info['state']}"
            if info["pid"]:
                text += f" (pid {info['pid']})"
            if info["last_exit"]:
                text += f"; last exit: {info['last_exit']}"
            return (RC_OK if info["state"] == "running" else RC_STOPPED), text
        if command == "start":
            return self.start(service)
        if command == "stop":
            return self.stop(service)
        if command == "restart":
            rc, text = self.stop(service)
            return self.start(service) if rc == RC_OK else (rc, text)
        return RC_FAILED, f"unknown command {command!r}"

    def _serve_control(self) -> None:
        path = Path(self.spec["socket"])
        path.unlink(missing_ok=True)
        init = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    request = json.loads(self.rfile.readline())
                    rc, text = init.handle(request)
                except Exception as error:  # a bad request must not kill PID 1
                    rc, text = RC_FAILED, f"error: {error}"
                self.wfile.write(json.dumps({"rc": rc, "output": text}).encode() + b"\n")

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True

        server = Server(str(path), Handler)
        os.chmod(path, 0o600)
        server.serve_forever()

    # -- shutdown (soft power off) --------------------------------------------------------------
    def shutdown(self) -> None:
        with self.lock:
            self.shutting_down = True
        for container in reversed(list(self.containers.values())):
            container.podman("stop", "-t", "5", container.name)
        for service in reversed(list(self.services.values())):
            self.stop(service, timeout=5.0)
        print("node halted", flush=True)
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ha_tests.lab.nodeinit")
    parser.add_argument("--spec", required=True, help="the node's node.json")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    if os.getpid() != 1:
        print("nodeinit: not PID 1 of a PID namespace; refusing to run", file=sys.stderr)
        return 2
    init = Init(spec)

    def on_term(_signum, _frame):
        threading.Thread(target=init.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(f"{spec['name']}: booting", flush=True)
    init.boot()
    init.reap_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
