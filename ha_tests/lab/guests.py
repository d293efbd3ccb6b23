"""The full profile's virt driver: Nova's fake driver, with guests that really exist.

``nova.virt.fake.FakeDriverWithoutFakeNodes`` does the bookkeeping (resources, the instance
list, a node identity kept in ``state_path`` so that nova-compute may restart) and runs no
guest. This driver gives each instance what a hypervisor gives it, at a lab's scale: a
process on the compute node (as a qemu process is) with its own network namespace, cabled to
the compute by a veth pair and given an address of the compute's guest subnet, so the guest
answers ping from the host. Hence, as on a real cloud:

* killing nova-compute leaves the guests running (they are not its children: own session);
* powering the compute node off kills its guests with everything else on it, and they come
  back when it boots only if nova does it (``resume_guests_state_on_host_boot``);
* nova's power-state sync sees a guest whose process died as shut off.

The guest's address is written to the server's metadata (``lab_address``) and to a record in
the compute's ``instances_path``, from which a restarted nova-compute finds its guests again.
There is no disk and no block I/O: volumes attach in the database only (the fake backends'
limit, which the lab's docs state).
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from nova.compute import power_state
from nova.virt import fake
from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
#: the compute's guest subnet is the one its interface ``vm1`` serves (the lab's own "VM")
GUEST_IF = "vm1"
FIRST_HOST, LAST_HOST = 100, 199


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=20)


def _alive(pid: int, uuid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return uuid.encode() in handle.read()
    except OSError:
        return False


class GuestDriver(fake.FakeDriverWithoutFakeNodes):
    """Fake bookkeeping, real guests (one process and network namespace each)."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self.records = Path(CONF.instances_path) / "guests"

    # -- records ----------------------------------------------------------------------------
    def _record_path(self, uuid: str) -> Path:
        return self.records / f"{uuid}.json"

    def _record(self, uuid: str) -> dict | None:
        try:
            return json.loads(self._record_path(uuid).read_text())
        except (OSError, ValueError):
            return None

    def _save(self, uuid: str, record: dict) -> None:
        self.records.mkdir(parents=True, exist_ok=True)
        path = self._record_path(uuid)
        path.with_suffix(".tmp").write_text(json.dumps(record))
        path.with_suffix(".tmp").replace(path)

    def _running(self, uuid: str) -> bool:
        record = self._record(uuid)
        return bool(record and record.get("pid") and _alive(record["pid"], uuid))

    # -- addresses --------------------------------------------------------------------------
    def _subnet(self) -> ipaddress.IPv4Interface:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", GUEST_IF],
                             capture_output=True, text=True, timeout=10).stdout
        for field in out.split():
            if "/" in field and field[0].isdigit():
                return ipaddress.IPv4Interface(field)
        raise RuntimeError(f"no IPv4 address on {GUEST_IF}: this host has no guest subnet")

    def _allocate(self, uuid: str) -> tuple[str, str]:
        gateway = self._subnet()
        taken = set()
        for path in self.records.glob("*.json") if self.records.is_dir() else ():
            record = self._record(path.stem)
            if record and path.stem != uuid:
                taken.add(record["address"])
        for host in range(FIRST_HOST, LAST_HOST + 1):
            address = str(gateway.network.network_address + host)
            if address not in taken:
                return address, str(gateway.ip)
        raise RuntimeError(f"no free guest address left in {gateway.network}")

    # -- guests -----------------------------------------------------------------------------
    def _start_guest(self, instance) -> str:
        uuid = instance.uuid
        record = self._record(uuid) or {}
        if record.get("pid") and _alive(record["pid"], uuid):
            return record["address"]
        address, gateway = record.get("address"), record.get("gateway")
        if not address:
            address, gateway = self._allocate(uuid)
        process = subprocess.Popen(
            ["unshare", "--net", "--", "bash", "-c", 'exec -a "$0" sleep infinity',
             f"guest-{uuid}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        tap = f"tap{uuid[:8]}"
        try:
            deadline = time.monotonic() + 5
            while _netns_of(process.pid) == _netns_of(os.getpid()):
                if time.monotonic() > deadline:
                    raise RuntimeError("the guest's network namespace did not appear")
                time.sleep(0.02)
            subprocess.run(["ip", "link", "del", tap], capture_output=True, timeout=10)
            _run("ip", "link", "add", tap, "type", "veth", "peer", "name", "eth0",
                 "netns", str(process.pid))
            _run("ip", "addr", "add", f"{gateway}/32", "dev", tap)
            _run("ip", "link", "set", tap, "up")
            _run("ip", "route", "replace", f"{address}/32", "dev", tap)
            inside = ["nsenter", "-t", str(process.pid), "-n"]
            _run(*inside, "ip", "link", "set", "lo", "up")
            _run(*inside, "ip", "addr", "add", f"{address}/32", "dev", "eth0")
            _run(*inside, "ip", "link", "set", "eth0", "up")
            _run(*inside, "ip", "route", "add", gateway, "dev", "eth0")
            _run(*inside, "ip", "route", "add", "default", "via", gateway)
        except Exception:
            process.kill()
            raise
        self._save(uuid, {"uuid": uuid, "name": instance.name, "pid": process.pid,
                          "address": address, "gateway": gateway, "tap": tap})
        LOG.info("guest %s started: pid %s, address %s", uuid, process.pid, address)
        return address

    def _stop_guest(self, uuid: str) -> None:
        record = self._record(uuid)
        if record and record.get("pid") and _alive(record["pid"], uuid):
            os.kill(record["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _alive(record["pid"], uuid) and time.monotonic() < deadline:
                time.sleep(0.02)
        if record:
            record["pid"] = None
            self._save(uuid, record)

    # -- the driver interface ---------------------------------------------------------------
    def init_host(self, host):
        super().init_host(host)
        for path in self.records.glob("*.json") if self.records.is_dir() else ():
            record = self._record(path.stem)
            if record:
                state = (power_state.RUNNING if self._running(record["uuid"])
                         else power_state.SHUTDOWN)
                self.instances[record["uuid"]] = fake.FakeInstance(record["name"], state,
                                                                   record["uuid"])

    def spawn(self, context, instance, image_meta, injected_files, admin_password,
              allocations, network_info=None, block_device_info=None, power_on=True,
              accel_info=None):
        super().spawn(context, instance, image_meta, injected_files, admin_password,
                      allocations, network_info, block_device_info, power_on, accel_info)
        address = self._start_guest(instance)
        if not power_on:
            self._stop_guest(instance.uuid)
        instance.metadata = dict(instance.metadata or {}, lab_address=address)

    def power_off(self, instance, timeout=0, retry_interval=0):
        super().power_off(instance, timeout, retry_interval)
        self._stop_guest(instance.uuid)

    def power_on(self, context, instance, network_info, block_device_info=None,
                 accel_info=None, share_info=None):
        super().power_on(context, instance, network_info, block_device_info, accel_info,
                         share_info)
        self._start_guest(instance)

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, share_info=None):
        super().reboot(context, instance, network_info, reboot_type, block_device_info,
                       bad_volumes_callback, accel_info, share_info)
        self._stop_guest(instance.uuid)
        self._start_guest(instance)

    def resume_state_on_host_boot(self, context, instance, network_info, share_info,
                                  block_device_info=None):
        if instance.uuid not in self.instances:
            self.instances[instance.uuid] = fake.FakeInstance(
                instance.name, power_state.RUNNING, instance.uuid)
        self.instances[instance.uuid].state = power_state.RUNNING
        self._start_guest(instance)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        super().destroy(context, instance, network_info, block_device_info, destroy_disks,
                        destroy_secrets)
        self._stop_guest(instance.uuid)
        self._record_path(instance.uuid).unlink(missing_ok=True)

    def get_info(self, instance, use_cache=True):
        info = super().get_info(instance, use_cache)
        if info.state == power_state.RUNNING and not self._running(instance.uuid):
            self.instances[instance.uuid].state = power_state.SHUTDOWN
            return super().get_info(instance, use_cache)
        return info


def _netns_of(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return ""
