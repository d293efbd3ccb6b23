"""The network and service attackers against the lab, over real SSH, observed from the host.

block-nic takes down ``br-mgmt``, the interface the runner's own SSH session uses; partition
cuts the VIP holder off the other controllers, so keepalived must move the VIP; stop-service
stops keystone through hactl. Every check is made from outside: ping and SSH banners from
the host, interface and address state read through the node's namespace, hactl's own view.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request

import pytest
from measured import assert_measured

from ha_tests.attackers import deadman
from ha_tests.attackers.block_nic import BlockNic, BlockNicParams
from ha_tests.attackers.partition import Partition, PartitionParams
from ha_tests.attackers.service_state import ServiceParams, StopService
from ha_tests.context import RunContext
from ha_tests.inventory import load_inventory

pytestmark = pytest.mark.lab


def wait_for(predicate, seconds: float, interval: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def pings(address: str) -> bool:
    return subprocess.run(["fping", "-c1", "-t300", "-q", address], capture_output=True,
                          timeout=5).returncode == 0


def ssh_answers(address: str) -> bool:
    from ha_tests.lab.lab import ssh_banner
    return ssh_banner(address, timeout=1.0)


def link_up(lab, node: str) -> bool:
    out = subprocess.run(["ip", "-n", lab.plan.node(node).netns, "-o", "link", "show",
                          "br-mgmt"], capture_output=True, text=True, timeout=5).stdout
    return "<" in out and "UP" in out.split("<", 1)[1].split(">", 1)[0].split(",")


def vip_holders(lab) -> list[str]:
    holders = []
    for node in lab.plan.controllers:
        out = subprocess.run(["ip", "-n", node.netns, "-o", "-4", "addr", "show", "dev",
                              "br-mgmt"], capture_output=True, text=True, timeout=5).stdout
        if f" {lab.plan.vip}/" in out:
            holders.append(node.name)
    return holders


def api_answers(lab) -> bool:
    try:
        with urllib.request.urlopen(f"http://{lab.plan.vip}:5000/v3", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def healthy(lab) -> bool:
    return len(vip_holders(lab)) == 1 and all(api_answers(lab) for _ in range(3))


@pytest.fixture
def ctx(lab):
    """A runner's context on a healthy lab; the lab must be healthy again afterwards."""
    assert wait_for(lambda: healthy(lab), 90, interval=0.5), "the lab is not healthy"
    context = RunContext(load_inventory(lab.inventory_path))
    yield context
    context.close()
    assert wait_for(lambda: healthy(lab), 90, interval=0.5), "the test left the lab broken"


def controller(lab, holder: bool) -> str:
    holders = vip_holders(lab)
    return next(n.name for n in lab.plan.controllers if (n.name in holders) == holder)


def test_block_nic_cuts_the_runners_own_ssh_and_the_node_comes_back(lab, ctx):
    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    ctx.shell(node).run(["true"], timeout=10).check()  # the session rides on br-mgmt
    attacker = BlockNic("cut-mgmt", BlockNicParams(interface="mgmt", duration=3,
                                                   back_timeout=30), [node], ctx)
    attacker.preflight()
    detail = attacker.inject()
    injected = time.monotonic()
    try:
        assert detail["cuts_ssh"] == [name]
        assert wait_for(lambda: not link_up(lab, name), 2)
        assert not pings(node.address)
        assert not ssh_answers(node.address)
    finally:
        attacker.rollback()
    took = time.monotonic() - injected
    attacker.verify()
    assert took > 2.0, took  # rollback had to wait for the node's own timer
    assert link_up(lab, name) and pings(node.address) and ssh_answers(node.address)
    assert deadman.tagged_pids(ctx.shell(node), "block-nic.deadman", attacker.ident) == []


def test_block_nic_heals_itself_when_the_runner_is_gone(lab, ctx):
    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    attacker = BlockNic("cut-mgmt", BlockNicParams(interface="br-mgmt", duration=2),
                        [node], ctx)
    attacker.inject()
    ctx.close()  # the runner is lost: no rollback will come
    assert wait_for(lambda: not link_up(lab, name), 2)
    assert wait_for(lambda: link_up(lab, name), 6), "the dead-man timer did not fire"
    assert wait_for(lambda: pings(node.address), 5)
    attacker.verify()  # a new connection, from a runner that came back


def test_partition_moves_the_vip_off_the_cut_off_holder(lab, ctx):
    holder = controller(lab, holder=True)
    node = ctx.inventory.node(holder)
    attacker = Partition("split", PartitionParams(peer_role="controller", duration=20),
                         [node], ctx)
    attacker.preflight()
    attacker.inject()
    try:
        peers = [n.name for n in attacker.peer_nodes()]
        moved = wait_for(lambda: set(vip_holders(lab)) & set(peers), 10)
        assert moved, f"keepalived on {peers} never took the VIP from {holder}"
        assert ctx.shell(node).run(["true"], timeout=5).ok  # keep_ssh: still reachable
    finally:
        attacker.rollback()
    attacker.verify()
    for peer in peers:
        assert attacker.ident not in subprocess.run(
            ["ip", "netns", "exec", lab.plan.node(peer).netns, "iptables-save"],
            capture_output=True, text=True, timeout=10).stdout
    assert wait_for(lambda: len(vip_holders(lab)) == 1, 15), vip_holders(lab)


def test_stop_service_stops_keystone_through_hactl(lab, ctx):
    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    attacker = StopService("stop-keystone", ServiceParams(service="keystone"), [node], ctx)
    attacker.preflight()
    attacker.inject()
    try:
        assert lab.services(name).get("keystone") != "running"
        assert not attacker.running(node)[0]
    finally:
        attacker.rollback()
    attacker.verify()
    assert lab.services(name).get("keystone") == "running"


def test_tc050_block_mgmt_on_the_vip_holder_through_the_runner(lab, ctx, tmp_path,
                                                                monkeypatch):
    """Yardstick tc050 the honest way: the runner holds the fault, rollback waits for the
    node's timer, the API through the VIP has a measured outage and comes back."""
    from ha_tests.runner import ScenarioRunner
    from ha_tests.scenario import load_scenario

    monkeypatch.setenv("HA_TESTS_STATE_DIR", str(tmp_path / "state"))
    holder = controller(lab, holder=True)
    scenario = tmp_path / "tc050.yaml"
    scenario.write_text(
        "name: block-mgmt-vip-holder\n"
        "gap: classic\n"
        "targets:\n"
        "  victim: {role: controller, pick: vip-holder}\n"
        "attackers:\n"
        "  - {type: block-nic, target: victim, interface: mgmt, duration: 4}\n"
        "monitors:\n"
        "  - {type: http, name: identity-api, url: 'http://{vip:api}:5000/v3',\n"
        "     interval: 0.2, timeout: 1}\n"
        "timing: {baseline: 1, fault_duration: 4, observe: 8, recovery_timeout: 60,\n"
        "         recovered_after: 3}\n")
    outcome = ScenarioRunner(load_scenario(scenario), ctx.inventory, tmp_path / "results",
                             seed=3).run()
    summary = outcome.result.to_json()
    assert summary["targets"]["victim"] == [holder]
    # measured and rolled back, whether or not the API came back within the recovery
    # timeout on this machine (that is the lab's timing: tests/measured.py)
    assert_measured(outcome.result)
    metrics = summary["monitors"]["identity-api"]["iterations"][0]["metrics"]
    print("tc050 identity-api:", {k: metrics[k] for k in ("outage_count", "total_downtime",
                                                          "longest_outage")})
    assert metrics["outage_count"] >= 1  # the VIP had to move: the fault was real
    assert link_up(lab, holder) and pings(ctx.inventory.node(holder).address)
    assert wait_for(lambda: len(vip_holders(lab)) == 1, 15), vip_holders(lab)


def keystone_answers(lab, name: str, timeout: float = 2.0) -> bool:
    """Straight to the controller's keystone, not through the VIP: is it serving?"""
    url = f"http://{lab.plan.node(name).mgmt_ip}:5000/v3"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def keystone_pids(lab, name: str) -> set[int]:
    """Seen with a connection of its own, not the attacker's."""
    from ha_tests.processes import find

    observer = RunContext(load_inventory(lab.inventory_path))
    try:
        return {p.pid for p in find(observer.shell(name), r"^keystone-wsgi-public ")}
    finally:
        observer.close()


def test_freeze_process_hangs_keystone_and_thaws_it(lab, ctx):
    from ha_tests.attackers.freeze_process import FreezeProcess, FreezeProcessParams

    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    assert keystone_answers(lab, name)
    attacker = FreezeProcess("freeze-keystone",
                             FreezeProcessParams(service="keystone", duration=30), [node], ctx)
    attacker.preflight()
    attacker.inject()
    try:
        assert not keystone_answers(lab, name), "a frozen keystone still answered"
        assert lab.services(name).get("keystone") == "running"  # hung, not dead
    finally:
        attacker.rollback()
    attacker.verify()
    assert wait_for(lambda: keystone_answers(lab, name), 20)


def test_restart_service_gives_keystone_new_processes(lab, ctx):
    from ha_tests.attackers.service_state import RestartService

    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    before = keystone_pids(lab, name)
    attacker = RestartService("restart-keystone", ServiceParams(service="keystone"), [node],
                              ctx)
    attacker.preflight()
    attacker.inject()
    attacker.rollback()
    attacker.verify()
    after = keystone_pids(lab, name)
    assert before and after and before.isdisjoint(after)
    assert wait_for(lambda: keystone_answers(lab, name), 30)


def test_cpu_hog_busies_a_controller_and_leaves_nothing(lab, ctx):
    from ha_tests.attackers.hogs import CpuHog, CpuHogParams

    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    attacker = CpuHog("cpu-hog", CpuHogParams(workers=2, duration=30), [node], ctx)
    attacker.preflight()
    attacker.inject()
    try:
        tag = attacker.ident  # in every tagged command line of this hog

        def hog_cpu_seconds() -> float:
            """utime+stime of the node's processes carrying the hog's tag, seen from the
            host's own /proc (the node's PID namespace is a child of the host's)."""
            import os
            total = 0.0
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
                    if str(tag).encode() not in cmd:
                        continue
                    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                except OSError:
                    continue
            return total

        first = hog_cpu_seconds()
        time.sleep(1.5)
        assert hog_cpu_seconds() - first > 0.5, "the hog did not burn CPU"
    finally:
        attacker.rollback()
    attacker.verify()
    assert hog_cpu_seconds() == 0.0


def host_pids_of_tag(lab, name: str, tag: str) -> list[int]:
    """PIDs (in the host's /proc) of the node's own processes that carry the hog's tag or
    belong to a process group a tagged process leads (dd under a tagged sh): proof, from
    outside the attacker, that the hog runs on that node. Zombies count as gone."""
    procs = {}
    for pid in lab.power(name).node_processes():
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            procs[pid] = (tag.encode() in cmd, int(fields[2]))  # tagged?, process group
    leaders = {pid for pid, (tagged, _) in procs.items() if tagged}
    return sorted(pid for pid, (tagged, group) in procs.items()
                  if tagged or group in leaders)


def resident_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def test_memory_hog_holds_memory_on_a_controller_and_frees_it(lab, ctx):
    from ha_tests.attackers.hogs import MemoryHog, MemoryHogParams

    name = controller(lab, holder=False)
    attacker = MemoryHog("memory-hog", MemoryHogParams(mib=64, duration=30),
                         [ctx.inventory.node(name)], ctx)
    attacker.preflight()
    attacker.inject()
    tag = deadman.tag(attacker.kind, attacker.ident)
    try:
        assert wait_for(lambda: resident_mib(host_pids_of_tag(lab, name, tag)) >= 60, 10), \
            "64 MiB never became resident on the node"
        others = [n.name for n in lab.plan.nodes if n.name != name]
        assert not any(host_pids_of_tag(lab, other, tag) for other in others)
    finally:
        attacker.rollback()
    attacker.verify()
    assert wait_for(lambda: not host_pids_of_tag(lab, name, tag), 5)


def node_files(lab, name: str, kind: str) -> list:
    return sorted((lab.plan.node_dir(name) / "run").glob(f".ha-tests-{kind}-*"))


def held_deleted_files(lab, name: str, kind: str) -> list[os.stat_result]:
    """What the node's processes hold open of files of ``kind`` already unlinked (disk-fill
    holds its file that way, so a reboot frees it): the space really taken, seen from the
    host's /proc."""
    held: dict[tuple[int, int], os.stat_result] = {}  # one file, whichever processes hold it
    for pid in lab.power(name).node_processes():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if f"/.ha-tests-{kind}-" in link and link.endswith(" (deleted)"):
                    found = os.stat(f"/proc/{pid}/fd/{fd}")
                    held[(found.st_dev, found.st_ino)] = found
            except OSError:
                continue
    return list(held.values())


def test_disk_fill_and_io_stall_write_on_a_controller_and_leave_nothing(lab, ctx):
    """Both write into the node's run directory (lab nodes share the host's file system, so
    the host sees the files at the same path, and disk-fill's unlinked file through its
    holder's /proc); rollback removes files and writers."""
    from ha_tests.attackers.hogs import DirParams, DiskFill, IoStall, IoStallParams

    name = controller(lab, holder=False)
    node = ctx.inventory.node(name)
    where = str(lab.plan.node_dir(name) / "run")
    fill = DiskFill("disk-fill", DirParams(dir=where, mib=8, min_free_percent=1,
                                                duration=30), [node], ctx)
    stall = IoStall("io-stall", IoStallParams(dir=where, writers=2, mib=2, min_free_percent=1,
                                              duration=30), [node], ctx)
    for attacker in (fill, stall):
        attacker.preflight()
    fill.inject()
    try:
        stall.inject()
        try:
            held = held_deleted_files(lab, name, "disk-fill")
            assert [f.st_size for f in held] == [8 * 1024 * 1024], held
            assert node_files(lab, name, "disk-fill") == []  # unlinked at once, still taken
            assert wait_for(lambda: len(node_files(lab, name, "io-stall")) >= 2, 10), \
                "the io-stall writers wrote nothing"
            stall_tag = deadman.tag(stall.kind, stall.ident)
            assert len(host_pids_of_tag(lab, name, stall_tag)) >= 2
        finally:
            stall.rollback()
    finally:
        fill.rollback()
    fill.verify()
    stall.verify()
    assert node_files(lab, name, "disk-fill") == []
    assert wait_for(lambda: not held_deleted_files(lab, name, "disk-fill"), 5)
    assert node_files(lab, name, "io-stall") == []
    assert wait_for(lambda: not host_pids_of_tag(lab, name, stall_tag), 5)


def test_kill_everything_on_a_node_spares_sshd_and_the_runners_session(lab, ctx):
    """``process: "|.*"`` on a compute over real SSH: its processes die (the node's init
    restarts its services), but not sshd, not the session the runner talks through, and
    not the runner's other command running on that same connection."""
    import threading

    from ha_tests.attackers.kill_process import KillProcess, KillProcessParams
    from ha_tests.lab import sshd
    from ha_tests.processes import find

    name = lab.plan.computes[0].name
    shell = ctx.shell(name)
    victim = deadman.detach(shell, ["sleep", "300"])          # outside the session: fair game
    sshd_before = {p.pid for p in find(shell, sshd.PROCESS_REGEX)}
    assert sshd_before
    neighbour: dict = {}

    def the_runners_other_command():
        neighbour["result"] = shell.run(["sleep", "4"], timeout=30)

    thread = threading.Thread(target=the_runners_other_command)
    thread.start()
    time.sleep(1)  # the neighbour's channel is open and its sleep started
    attacker = KillProcess("kill-everything", KillProcessParams(process="|.*", restart=False),
                           [ctx.inventory.node(name)], ctx)
    attacker.preflight()
    detail = attacker.inject()
    thread.join(30)
    assert neighbour.get("result") and neighbour["result"].rc == 0   # its sleep ran to the end
    assert shell.run(["true"], timeout=10).rc == 0               # the same connection lives
    observer = RunContext(load_inventory(lab.inventory_path))    # and a new one is welcome
    try:
        assert sshd_before <= {p.pid for p in find(observer.shell(name), sshd.PROCESS_REGEX)}
        assert not find(observer.shell(name), r"^sleep 300$")    # the victim is gone
    finally:
        observer.close()
    assert victim in detail["pids"][name] and detail["spared"][name]
