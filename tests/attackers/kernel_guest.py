"""A Debian kernel in a small QEMU guest: a real node where this machine's kernel falls short.

Some CI VMs run kernels built without ``sch_netem``, so netem's effect cannot be shown in a
namespace there. This guest boots Debian's own kernel (fetched with ``apt-get download``),
whose modules include sch_netem, with this machine's root filesystem as its read-only root
(9p), so it runs the very same sshd, tc and fping. The runner reaches it over real SSH, as a
node of an inventory; its first NIC is a tap device in a throwaway namespace ("b"), the
peer that measures the effect, exactly like the namespace pair.

Traffic stays local: the control NIC is QEMU's user network with ``restrict=on`` (no route
out) and one forward from 127.0.0.1; the tap lives only in the namespace.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

#: where bootstrap.sh unpacks the kernel package (once; the tests only read it)
CACHE = Path(os.environ.get("HA_TESTS_GUEST_KERNEL_CACHE",
                            "/var/cache/ha-tests/guest-kernel"))
#: what the guest loads before its root is mounted; dependencies come from modules.dep
MODULES = ("virtio_pci", "virtio_net", "9pnet_virtio", "9p", "sch_netem")
GUEST_MAC = "52:54:00:a7:00:01"
CONTROL_MAC = "52:54:00:a7:00:02"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.load); do insmod "/modules/$m" || echo "insmod $m failed"; done
mkdir -p /root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /root || poweroff -f
for d in run tmp var/tmp root; do mount -t tmpfs tmpfs "/root/$d"; done
mkdir -p /root/run/guest
mount -t 9p -o trans=virtio,version=9p2000.L,ro share /root/run/guest || poweroff -f
mount --move /proc /root/proc; mount --move /sys /root/sys; mount --move /dev /root/dev
exec chroot /root /bin/sh /run/guest/init.sh
"""

#: names the guest's NICs by MAC and addresses them (no DHCP: nothing leaves the pair)
NAME_NICS = r"""ip link set lo up
for dev in /sys/class/net/*; do
  name=${dev##*/}
  case "$(cat "$dev/address")" in
    GUEST_MAC) ip link set "$name" name mgmt0; ip addr add GUEST_ADDR/24 dev mgmt0
                ip link set mgmt0 up ;;
    CONTROL_MAC) ip link set "$name" name ctl0; ip addr add 10.0.2.15/24 dev ctl0
                ip link set ctl0 up ;;
  esac
done
"""

GUEST_INIT = r"""#!/bin/sh
# runs in the guest, on this machine's filesystem (read-only) with tmpfs for /run and /tmp
set -u
mount -t devpts devpts /dev/pts 2>/dev/null
""" + NAME_NICS + r"""mkdir -p /run/sshd
# the guest's own dead-man: a test runner killed with -9 leaves no guest behind for long
(sleep 1800; echo o > /proc/sysrq-trigger) &
echo "guest-ready" > /dev/ttyS0
/usr/sbin/sshd -D -e -f /dev/null -h /run/guest/host_key \
  -o AuthorizedKeysFile=/run/guest/authorized_keys -o StrictModes=no -o UsePAM=no \
  -o PermitRootLogin=prohibit-password -o PidFile=/run/sshd.pid 2>/dev/ttyS0
echo o > /proc/sysrq-trigger
"""


def missing() -> list[str]:
    """What this machine lacks to boot the guest (bootstrap.sh installs all of it)."""
    lacking = [tool for tool in ("qemu-system-x86_64", "busybox") if shutil.which(tool) is None]
    if cached_kernel() is None:
        lacking.append(f"a kernel in {CACHE}")
    return lacking


#: written last by fetch_kernel(), naming the kernel version: a cache without it is partial
COMPLETE = "complete"


def cached_kernel(cache: Path = CACHE) -> tuple[Path, Path] | None:
    """(vmlinuz, modules dir) of a whole fetch, else None: a fetch that stopped part-way
    (no marker, no modules.dep, a module the guest loads missing) counts as no fetch."""
    marker = cache / COMPLETE
    if not marker.is_file():
        return None
    version = marker.read_text().strip()
    vmlinuz = cache / "root/boot" / f"vmlinuz-{version}"
    modules_dir = cache / "root/lib/modules" / version
    if not version or not vmlinuz.is_file() or not (modules_dir / "modules.dep").is_file():
        return None
    if not all((modules_dir / module).is_file() for module in load_order(modules_dir)):
        return None
    return vmlinuz, modules_dir


def fetch_kernel(cache: Path = CACHE, deb: Path | None = None) -> tuple[Path, Path]:
    """Download and unpack Debian's current amd64 kernel once (bootstrap.sh does it: the
    tests themselves never reach beyond this machine), or unpack a given kernel ``deb``.

    Atomic: everything is unpacked in a scratch directory beside the cache and renamed into
    place only when whole, so an interrupted or failed fetch leaves no half-kernel that a
    later run would take for a fetched one; the next call starts again."""
    kernel = cached_kernel(cache)
    if kernel is not None:
        return kernel
    cache.parent.mkdir(parents=True, exist_ok=True)
    for stale in cache.parent.glob(f".{cache.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{cache.name}.partial-", dir=cache.parent))
    scratch.chmod(0o755)
    try:
        if deb is None:
            deb = _download_kernel_package(scratch)
        package = deb.name
        subprocess.run(["dpkg-deb", "-x", str(deb), str(scratch / "root")], check=True)
        if deb.parent == scratch:
            deb.unlink()
        version = next((scratch / "root/lib/modules").iterdir()).name
        subprocess.run(["depmod", "-b", str(scratch / "root"), version], check=True)
        (scratch / COMPLETE).write_text(version + "\n")
        if cached_kernel(scratch) is None:
            raise OSError(f"the unpacked package {package} lacks what the guest boots from")
        if cache.exists():
            old = cache.with_name(f".{cache.name}.partial-old")
            shutil.rmtree(old, ignore_errors=True)
            cache.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        scratch.rename(cache)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    kernel = cached_kernel(cache)
    assert kernel is not None
    return kernel


def _download_kernel_package(into: Path) -> Path:
    depends = subprocess.run(["apt-cache", "depends", "linux-image-amd64"],
                             capture_output=True, text=True, check=True).stdout
    package = next(line.split(":", 1)[1].strip() for line in depends.splitlines()
                   if line.strip().startswith("Depends: linux-image-"))
    subprocess.run(["apt-get", "download", "-q", package], cwd=into, check=True,
                   capture_output=True)
    return next(into.glob("*.deb"))


def load_order(modules_dir: Path, wanted=MODULES) -> list[str]:
    """Module files (relative to modules_dir) in an order insmod accepts."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        by_name[Path(path).name.split(".ko")[0].replace("-", "_")] = path
    order: list[str] = []

    def add(path: str) -> None:
        if path in order:
            return
        for dep in reversed(deps.get(path, [])):
            add(dep)
        order.append(path)
    for name in wanted:
        if name in by_name:  # built into this kernel otherwise
            add(by_name[name])
    return order


def initramfs(modules_dir: Path, target: Path, init: str = INIT,
              modules: tuple[str, ...] = MODULES) -> Path:
    """A gzip'd newc cpio: busybox, the init (by default the one above), the modules
    (uncompressed)."""
    import lzma
    entries: list[tuple[str, bytes, int]] = []
    busybox = Path(shutil.which("busybox") or "/bin/busybox").read_bytes()
    entries.append(("bin/busybox", busybox, 0o755))
    entries.append(("init", init.encode(), 0o755))
    names = []
    for rel in load_order(modules_dir, modules):
        data = (modules_dir / rel).read_bytes()
        if rel.endswith(".xz"):
            data = lzma.decompress(data)
        name = Path(rel).name.split(".ko")[0] + ".ko"
        names.append(name)
        entries.append((f"modules/{name}", data, 0o644))
    entries.append(("modules.load", "\n".join(names).encode() + b"\n", 0o644))
    dirs = ["bin", "modules", "proc", "sys", "dev", "root"]
    raw = io.BytesIO()
    ino = 1
    for directory in dirs:
        raw.write(_cpio_entry(directory, b"", stat.S_IFDIR | 0o755, ino))
        ino += 1
    for name, data, mode in entries:
        raw.write(_cpio_entry(name, data, stat.S_IFREG | mode, ino))
        ino += 1
    raw.write(_cpio_entry("TRAILER!!!", b"", 0, 0))
    target.write_bytes(gzip.compress(raw.getvalue(), compresslevel=1))
    return target


def _cpio_entry(name: str, data: bytes, mode: int, ino: int) -> bytes:
    encoded = name.encode() + b"\0"
    header = "070701" + "".join(f"{value:08x}" for value in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
    out = header.encode() + encoded
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class KernelGuest:
    """One guest: ``start()`` boots it and waits for its sshd, ``stop()`` powers it off."""

    #: the initramfs's init, the modules it loads and the kernel's command line
    init = INIT
    modules = MODULES
    append = "console=ttyS0 panic=-1 quiet rdinit=/init"
    memory_mb = 512
    cpus = 1

    def __init__(self, workdir: Path, peer_ns: str, tap: str, guest_addr: str,
                 peer_addr: str):
        self.dir = Path(workdir)
        self.share = self.dir / "share"
        self.peer_ns, self.tap = peer_ns, tap
        self.guest_addr, self.peer_addr = guest_addr, peer_addr
        self.ssh_port = free_tcp_port()
        self.proc: subprocess.Popen | None = None
        self.console = self.dir / "console.log"

    def _keys(self) -> None:
        self.share.mkdir(parents=True, exist_ok=True)
        for key in ("host_key", "client_key"):
            path = self.share / key if key == "host_key" else self.dir / key
            if not path.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                                str(path)], check=True)
        shutil.copy(self.dir / "client_key.pub", self.share / "authorized_keys")
        host_key = (self.share / "host_key.pub").read_text().split()
        (self.dir / "known_hosts").write_text(
            f"[127.0.0.1]:{self.ssh_port} {host_key[0]} {host_key[1]}\n")
        (self.share / "host_key").chmod(0o600)
        self._share_files()

    def addressed(self, script: str) -> str:
        """``script`` with this guest's MACs and address filled in."""
        return script.replace("GUEST_MAC", GUEST_MAC).replace(
            "CONTROL_MAC", CONTROL_MAC).replace("GUEST_ADDR", self.guest_addr)

    def _share_files(self) -> None:
        """What the guest reads from the share besides the keys: its init after the root."""
        (self.share / "init.sh").write_text(self.addressed(GUEST_INIT))

    def start(self, boot_timeout: float = 120.0) -> KernelGuest:
        kernel = cached_kernel()
        if kernel is None:
            raise RuntimeError(f"no guest kernel in {CACHE}; ./bootstrap.sh setup fetches it")
        vmlinuz, modules_dir = kernel
        self._keys()
        initrd = initramfs(modules_dir, self.dir / "initramfs.gz", self.init, self.modules)
        # TCG, not KVM: under nested virtualisation (CI VMs) KVM guests hung in early boot
        # here, and TCG boots this kernel in about 3 s
        argv = ["qemu-system-x86_64", "-accel", "tcg", "-m", str(self.memory_mb),
                "-smp", str(self.cpus), "-nodefaults",
                "-display", "none", "-no-reboot", "-serial", f"file:{self.console}",
                "-kernel", str(vmlinuz), "-initrd", str(initrd),
                "-append", self.append,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,"
                           "id=hostroot",
                "-virtfs", f"local,path={self.share},mount_tag=share,security_model=none,"
                           "readonly=on,id=share",
                "-netdev", f"tap,id=n0,ifname={self.tap},script=no,downscript=no",
                "-device", f"virtio-net-pci,netdev=n0,mac={GUEST_MAC}",
                "-netdev", "user,id=c0,restrict=on,"
                           f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22",
                "-device", f"virtio-net-pci,netdev=c0,mac={CONTROL_MAC}"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "qemu.log", "ab"),
                                     start_new_session=True)
        deadline = time.monotonic() + boot_timeout
        self._move_tap(deadline)
        while "guest-ready" not in self._console():
            self._check_alive(deadline)
            time.sleep(0.1)
        while not self._ssh_answers(deadline):
            self._check_alive(deadline)
            time.sleep(0.1)
        return self

    def _move_tap(self, deadline: float) -> None:
        """The tap QEMU made goes into the peer namespace (nothing of it on this host)."""
        while not Path(f"/sys/class/net/{self.tap}").exists():
            self._check_alive(deadline)
            time.sleep(0.02)
        for argv in (["ip", "link", "set", self.tap, "netns", self.peer_ns],
                     ["ip", "-n", self.peer_ns, "addr", "add", f"{self.peer_addr}/24",
                      "dev", self.tap],
                     ["ip", "-n", self.peer_ns, "link", "set", self.tap, "up"]):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")

    def _ssh_answers(self, deadline: float) -> bool:
        """One connection waits for its banner until the deadline: each one given up on cost
        the guest an sshd start for nothing, which on a loaded machine kept it from answering
        any of them before the boot timeout."""
        try:
            with socket.create_connection(("127.0.0.1", self.ssh_port), timeout=1) as sock:
                sock.settimeout(max(1.0, deadline - time.monotonic()))
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    def _console(self) -> str:
        try:
            return self.console.read_text(errors="replace")
        except OSError:
            return ""

    def _check_alive(self, deadline: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError("the guest stopped while booting; console:\n"
                               + self._console()[-2000:] + "\nqemu:\n"
                               + (self.dir / "qemu.log").read_text(errors="replace")[-1000:])
        if time.monotonic() > deadline:
            raise RuntimeError("the guest did not boot in time; console:\n"
                               + self._console()[-2000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def node(self, name: str = "a") -> dict:
        return {"name": name, "roles": ["pair", f"side-{name}"], "address": "127.0.0.1",
                "ssh": {"port": self.ssh_port},
                "interfaces": {"mgmt": "mgmt0", "ssh": "ctl0"}}

    def ssh_settings(self) -> dict:
        return {"user": "root", "key_file": str(self.dir / "client_key"),
                "known_hosts": str(self.dir / "known_hosts"), "connect_timeout": 5}



if __name__ == "__main__":  # bootstrap.sh: python tests/attackers/kernel_guest.py fetch
    import sys
    if sys.argv[1:] == ["check"]:  # bootstrap.sh: is a whole kernel already there?
        sys.exit(0 if cached_kernel() else 1)
    if sys.argv[1:2] != ["fetch"] or len(sys.argv) not in (2, 4) or sys.argv[2:3] not in (
            [], ["--deb"]):
        sys.exit("usage: kernel_guest.py fetch [--deb KERNEL.deb] | check")
    try:
        print(fetch_kernel(deb=Path(sys.argv[3]) if len(sys.argv) == 4 else None)[0])
    except (subprocess.CalledProcessError, StopIteration, OSError) as error:
        sys.exit(f"could not fetch Debian's kernel package into {CACHE}: {error}")
