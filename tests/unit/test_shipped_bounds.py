"""Shipped scenarios sample their APIs fast enough that an outage is known to ~0.25 s.

An outage's ends are known to one interval plus one probe (ha_tests.metrics); at 0.5-1 s a
one-sample outage prints as ``0-4.0 s`` (issue 18). Each API, HTTP, ping or service-status
monitor of a shipped scenario samples every 0.2 s or less, and says beside its interval what
its probe costs (or why the bound is wider: a probe that hangs until its timeout when a node
loses power). host-status (BMC, ping, SSH and the cloud at once) and volume-cycle (a whole
volume lifecycle) cannot be that fast; they say what their probe costs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ha_tests.scenario import load_scenario

SHIPPED = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))
FAST_PROBES = ("api", "http", "vm-ping", "service-status", "service-notifications")
#: probes too heavy for 0.2 s: each must still say what it costs and why it is slower
SAID_PROBES = ("host-status", "volume-cycle")


def api_monitors(path: Path, kinds=FAST_PROBES):
    return [use for use in load_scenario(path).monitors if use.type in kinds]


def said_beside(path: Path, name: str) -> str:
    """The comments of the monitor block named ``name``."""
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == f"name: {name}")
    block = []
    for line in lines[at:]:
        if block and line.startswith("  - "):
            break
        block.append(line)
    return " ".join(line.split("#", 1)[1] for line in block if "#" in line)


@pytest.mark.parametrize("path", [p for p in SHIPPED if api_monitors(p)], ids=lambda p: p.stem)
def test_every_shipped_api_and_ping_monitor_samples_every_0_2_s_and_says_what_it_costs(path):
    for use in api_monitors(path):
        assert use.spec.interval <= 0.2, f"{path.name}: {use.name} every {use.spec.interval} s"
        said = said_beside(path, use.name)
        assert "probe" in said or "costs" in said, f"{path.name}: {use.name} says not why"


@pytest.mark.parametrize("path", [p for p in SHIPPED if api_monitors(p, SAID_PROBES)],
                         ids=lambda p: p.stem)
def test_every_shipped_heavy_probe_says_what_it_costs_and_so_why_its_interval(
        path):
    for use in api_monitors(path, SAID_PROBES):
        said = said_beside(path, use.name)
        assert "costs" in said and " p95" in said, f"{path.name}: {use.name} says not its cost"
