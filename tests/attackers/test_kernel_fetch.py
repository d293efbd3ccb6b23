"""The guest kernel's fetch is atomic: killed or failed at any step, the next fetch redoes it.

Offline: the package is a small kernel .deb built here from the kernel bootstrap.sh fetched
(its vmlinuz and the modules the guest loads), unpacked by the real dpkg-deb and indexed by the
real depmod. The fetch is killed with SIGKILL by a stand-in for one of those programs, put
first on PATH, that kills its parent (the fetching process) at that step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_guest import CACHE, cached_kernel, load_order

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def kernel_deb(tmp_path_factory) -> Path:
    kernel = cached_kernel(CACHE)
    if kernel is None:
        pytest.skip(f"needs the kernel ./bootstrap.sh setup fetches into {CACHE}")
    vmlinuz, modules_dir = kernel
    version = modules_dir.name
    tree = tmp_path_factory.mktemp("deb") / "pkg"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        "Package: linux-image-ha-tests-fixture\nVersion: 1\nArchitecture: amd64\n"
        "Maintainer: ha-tests\nDescription: the guest's modules only\n")
    (tree / "boot").mkdir()
    shutil.copy(vmlinuz, tree / "boot" / vmlinuz.name)
    for module in load_order(modules_dir):
        target = tree / "lib/modules" / version / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(modules_dir / module, target)
    deb = tree.parent / "kernel.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(deb)], check=True,
                   capture_output=True)
    return deb


def fetch(cache: Path, deb: Path, stand_in: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, HA_TESTS_GUEST_KERNEL_CACHE=str(cache))
    if stand_in is not None:
        env["PATH"] = f"{stand_in}:{env['PATH']}"
    return subprocess.run([sys.executable, str(HERE / "kernel_guest.py"), "fetch", "--deb",
                           str(deb)], env=env, capture_output=True, text=True, timeout=120)


def check(cache: Path) -> int:
    env = dict(os.environ, HA_TESTS_GUEST_KERNEL_CACHE=str(cache))
    return subprocess.run([sys.executable, str(HERE / "kernel_guest.py"), "check"], env=env,
                          capture_output=True, timeout=60).returncode


def stand_in_for(directory: Path, program: str, action: str) -> Path:
    """``program`` on PATH that does ``action`` (shell) instead of, or around, the real one."""
    real = shutil.which(program)
    script = directory / program
    script.write_text(f"#!/bin/sh\nREAL={real}\n{action}\n")
    script.chmod(0o755)
    return directory


STEPS = {
    # killed after the package was unpacked, before depmod indexed its modules: the very
    # state issue 24 met (a vmlinuz in the cache, no modules.dep)
    "killed after unpacking": ("dpkg-deb", '"$REAL" "$@"; kill -9 $PPID; sleep 5'),
    "killed while unpacking": ("dpkg-deb", 'kill -9 $PPID; sleep 5'),
    "killed in depmod": ("depmod", 'kill -9 $PPID; sleep 5'),
    "depmod failed": ("depmod", 'echo "depmod: simulated failure" >&2; exit 1'),
}


@pytest.mark.parametrize("step", STEPS)
def test_a_fetch_stopped_part_way_counts_as_none_and_the_next_one_completes(
        step, kernel_deb, tmp_path):
    cache = tmp_path / "guest-kernel"
    program, action = STEPS[step]
    stopped = fetch(cache, kernel_deb, stand_in_for(tmp_path, program, action))
    assert stopped.returncode != 0, stopped.stdout
    assert cached_kernel(cache) is None
    assert check(cache) == 1  # bootstrap.sh fetches again
    assert not cache.exists() or not any(cache.iterdir()), sorted(cache.rglob("*"))

    done = fetch(cache, kernel_deb)
    assert done.returncode == 0, done.stderr
    kernel = cached_kernel(cache)
    assert kernel is not None and check(cache) == 0
    vmlinuz, modules_dir = kernel
    assert vmlinuz.is_file() and (modules_dir / "modules.dep").is_file()
    assert any("sch_netem" in module for module in load_order(modules_dir))
    assert not list(tmp_path.glob(".guest-kernel.partial-*"))


def test_a_cache_left_half_by_an_older_fetch_is_fetched_again(kernel_deb, tmp_path):
    """The layout the non-atomic fetch left when killed: vmlinuz there, modules.dep not."""
    cache = tmp_path / "guest-kernel"
    cache.mkdir()
    subprocess.run(["dpkg-deb", "-x", str(kernel_deb), str(cache / "root")], check=True)
    assert list(cache.glob("root/boot/vmlinuz-*"))
    assert cached_kernel(cache) is None and check(cache) == 1
    assert fetch(cache, kernel_deb).returncode == 0
    assert cached_kernel(cache) is not None
