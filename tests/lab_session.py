"""A lab owned by one test session: locked, freed of any leftover, brought up, always taken
down (shared by the identity lab of tests/conftest.py and the full lab of tests/full)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def session_lab(name: str, cidr: str, profile: str = "identity",
                label: str = "lab up", style: str = "native") -> Iterator:
    from ha_tests.lab import Lab
    from ha_tests.lab.plan import lab_base_dir

    # One test session per lab: another session's faults would break this one's checks,
    # and its teardown would take the lab away under this one.
    lab_base_dir().mkdir(parents=True, exist_ok=True)
    lock = open(lab_base_dir() / f".{name}.tests.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        pytest.fail(f"lab {name} is in use by another test session; give this one its own "
                    "name and range (see tests/lab_settings.py and tests/full/conftest.py)")
    the_lab = Lab(name=name, cidr=cidr, profile=profile, style=style)
    try:
        if the_lab.dir.exists():
            # We hold the lock, so no test session owns it: a killed session left it, and
            # its faults or dead daemons would fail this session's tests one by one.
            print(f"{label}: lab {name} was left by an earlier session; taking it down",
                  flush=True)
            the_lab.down()
        the_lab.up(progress=lambda text: print(f"{label}: {text}", flush=True))
        yield the_lab
    finally:
        try:
            the_lab.down()
        finally:
            os.unlink(lock.name)  # still holding it: nobody can take it in between
            lock.close()
