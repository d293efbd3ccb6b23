"""The kernel guest with systemd as PID 1: a real systemd for discovery's systemd way.

This machine (a container) runs no systemd, so here the QEMU/TCG guest of the netem tests
boots Debian's kernel with this machine's own root (9p, read-only) under an overlay whose
upper layer is a tmpfs, and its initramfs hands over to this machine's
``/lib/systemd/systemd`` (Debian's systemd package) as PID 1. Why it is faithful: the
services are Debian's own unmodified unit files (``memcached.service``, ``ssh.service``
from the memcached and openssh-server packages), started, stopped, supervised
(``Restart=always``) and sandboxed (``PrivateTmp``, ``ProtectSystem``...) by a real systemd,
which ``systemctl`` talks to over its real private bus, exactly as on a Debian or
OpenStack-Ansible node. The guest only adds configuration an operator would: an sshd
drop-in (``sshd_config.d``: the test's host key and authorized key), a boot target that
wants sshd and memcached instead of everything this machine has enabled (its
``multi-user.target`` would start MariaDB, RabbitMQ...), a oneshot that addresses the NICs,
and masks for units that would reach out (timesyncd) or wait at a console (firstboot).

Traffic stays local as for the kernel guest: QEMU's user network with ``restrict=on`` and
one forward from 127.0.0.1, the tap in a throwaway namespace.
"""

from __future__ import annotations

from pathlib import Path

from kernel_guest import MODULES, NAME_NICS, KernelGuest, cached_kernel, load_order
from kernel_guest import missing as kernel_guest_missing

#: the overlay module gives the guest a writable root over the read-only 9p one
SYSTEMD_MODULES = (*MODULES, "overlay")
#: the boot target: sshd and the services under test, nothing else this machine enables
TARGET = "ha-guest.target"
#: Debian units the target starts, as the packages ship them
SERVICES = ("ssh.service", "memcached.service")

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.load); do insmod "/modules/$m" || echo "insmod $m failed"; done
mkdir -p /lower /rw /newroot /share
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /lower || poweroff -f
mount -t tmpfs -o mode=0755 tmpfs /rw || poweroff -f
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \
  || poweroff -f
mount -t 9p -o trans=virtio,version=9p2000.L,ro share /share || poweroff -f
# systemd's configuration, copied as it is into memory: list-unit-files looks for each unit's
# symlinks through /etc/systemd, and over uncached 9p that outlasted its 25 s D-Bus timeout
mount -t tmpfs -o mode=0755 tmpfs /newroot/etc/systemd && cp -a /lower/etc/systemd/. \
  /newroot/etc/systemd/
cp -a /share/root/. /newroot/ || poweroff -f
umount /share
# a node of its own: no host's /tmp, and no marker of the container this machine is (with
# one systemd would ignore the kernel command line and skip units meant for a real host)
for d in tmp var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "/newroot/$d"; done
# the packages' unit files, copied as they are into memory: systemd reads them all for
# list-unit-files, which over uncached 9p under TCG outlasted systemctl's 25 s D-Bus timeout
units=/usr/lib/systemd/system
mount -t tmpfs -o mode=0755 tmpfs "/newroot$units" && cp -a "/lower$units/." "/newroot$units/"
rm -f /newroot/.dockerenv /newroot/run/.containerenv
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /lib/systemd/systemd
"""

NETWORK = r"""#!/bin/sh
# names the guest's NICs by MAC and addresses them (no networkd, no DHCP: nothing leaves)
set -eu
""" + NAME_NICS

UNITS = {
    TARGET: f"""\
[Unit]
Description=ha-tests guest: sshd and the services under test
Requires=basic.target
Wants=ha-guest-network.service {' '.join(SERVICES)} ha-guest-ready.service \
ha-guest-deadman.service
After=basic.target
AllowIsolate=yes
""",
    "ha-guest-network.service": """\
[Unit]
Description=ha-tests guest: name and address the NICs
Before=network.target ssh.service memcached.service
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /etc/ha-guest/network.sh
""",
    "ha-guest-ready.service": f"""\
[Unit]
Description=ha-tests guest: tell the host sshd and the services are up
After={' '.join(SERVICES)}

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo guest-ready > /dev/ttyS0'
""",
    # the guest's own dead-man: a test runner killed with -9 leaves no guest behind for long
    "ha-guest-deadman.service": """\
[Unit]
Description=ha-tests guest: power off after 30 minutes whatever happens

[Service]
ExecStart=/bin/sh -c 'sleep 1800; echo o > /proc/sysrq-trigger'
""",
}

#: units of this machine that would wait at a console, reach beyond it, or start what the
#: tests do not need; masked in the guest only (its overlay's /etc)
MASKED = ("systemd-firstboot.service", "systemd-timesyncd.service", "timers.target",
          "podman.socket", "epmd.socket", "systemd-pstore.service", "getty.target",
          "serial-getty@ttyS0.service", "console-getty.service")

SSHD_DROP_IN = """\
# ha-tests guest: the test's host key and client key only
HostKey /etc/ssh/ha_guest_host_key
AuthorizedKeysFile /etc/ssh/ha_guest_authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
"""


def missing() -> list[str]:
    """What this machine lacks to boot the systemd guest."""
    lacking = kernel_guest_missing()
    if not Path("/lib/systemd/systemd").is_file():
        lacking.append("systemd (/lib/systemd/systemd)")
    if not Path("/lib/systemd/system/memcached.service").is_file():
        lacking.append("memcached")
    kernel = cached_kernel()
    if kernel is not None and not all(
            (kernel[1] / module).is_file() for module in load_order(kernel[1],
                                                                     SYSTEMD_MODULES)):
        lacking.append("the overlay module in the cached kernel")
    return lacking


class SystemdGuest(KernelGuest):
    """A KernelGuest whose PID 1 is systemd, running sshd and memcached as its units."""

    init = INIT
    modules = SYSTEMD_MODULES
    # systemd.unit: the target above, not this machine's default; its status lines go to
    # the console log, which a failed boot's error shows
    append = ("console=ttyS0 panic=-1 quiet rdinit=/init "
              f"systemd.unit={TARGET} systemd.show_status=true systemd.firstboot=off")
    memory_mb = 768
    #: one vCPU: a fork costs a third less under TCG without a second vCPU to shoot down TLBs
    #: with, and a process listing forks once for each process (two vCPUs were chosen while
    #: every command also ran this machine's root .bashrc, which the guest now replaces)
    cpus = 1

    def _share_files(self) -> None:
        """The files the initramfs copies onto the guest's root, as an operator adds them."""
        root = self.share / "root"
        units = root / "etc/systemd/system"
        units.mkdir(parents=True, exist_ok=True)
        for name, text in UNITS.items():
            (units / name).write_text(text)
        for name in MASKED:
            link = units / name
            if not link.is_symlink():
                link.symlink_to("/dev/null")
        (root / "etc/ha-guest").mkdir(parents=True, exist_ok=True)
        (root / "etc/ha-guest/network.sh").write_text(self.addressed(NETWORK))
        ssh = root / "etc/ssh"
        (ssh / "sshd_config.d").mkdir(parents=True, exist_ok=True)
        (ssh / "sshd_config.d/ha-guest.conf").write_text(SSHD_DROP_IN)
        for source, target in (("host_key", "ha_guest_host_key"),
                               ("authorized_keys", "ha_guest_authorized_keys")):
            (ssh / target).write_bytes((self.share / source).read_bytes())
        (ssh / "ha_guest_host_key").chmod(0o600)
        # root's own .bashrc, as on a node: bash sources it for every command sshd runs, and
        # this machine's (pyenv init) took 10-20 s a command under TCG
        (root / "root").mkdir(mode=0o700, exist_ok=True)
        (root / "root/.bashrc").write_text("# ha-tests guest: root's shell setup of its own\n")

    def start(self, boot_timeout: float = 600.0) -> SystemdGuest:
        """Boot and wait for the ready unit and sshd. A bound, not an expectation: under TCG
        systemd's boot reads its units and binaries over 9p, a minute on an idle machine and
        over three at this machine's usual load (boot time is no assertion here)."""
        super().start(boot_timeout)
        return self
