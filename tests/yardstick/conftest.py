"""Yardstick's own files, read in place from ../shared/yardstick (never copied here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from yardstick_corpus import PODS, TESTCASES, YARDSTICK  # noqa: F401 - re-exported


@pytest.fixture
def yardstick_dir() -> Path:
    if not YARDSTICK.is_dir():
        pytest.skip(f"Yardstick's corpus is not at {YARDSTICK.resolve()} "
                    "(a copy of opnfv/yardstick's HA test cases, pods and catalogues)")
    return YARDSTICK


@pytest.fixture
def testcase(yardstick_dir):
    def path(name: str) -> Path:
        return yardstick_dir / "testcases" / f"{name}.yaml"
    return path


@pytest.fixture
def pod(yardstick_dir):
    def path(name: str) -> Path:
        return yardstick_dir / "pod" / name
    return path
