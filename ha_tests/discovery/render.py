"""The discovered inventory as YAML an operator reviews and commits: every item discovery
added says where it was found (``source:`` on services, a comment on VIPs and roles)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ha_tests.discovery.discover import READ_ONLY, Discovery


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def render(data: dict, sources: dict[str, str], found: Discovery, origin: str) -> str:
    out = [f"# ha-tests inventory discovered from {origin} by 'ha-tests discover'",
           f"# ({READ_ONLY}).", "# Review it, correct what is wrong (docs/discovery.rst), "
           "then commit it.", ""]
    for key, value in data.items():
        if key == "vips":
            out.append("vips:")
            for name, address in value.items():
                comment = sources.get(f"vips.{name}")
                out.append(f"  {name}: {address}" + (f"  # found: {comment}" if comment else ""))
        elif key == "nodes":
            out.append("nodes:")
            for node in value:
                comment = sources.get(f"nodes.{node['name']}.roles")
                if comment:
                    out.append(f"  # {node['name']}: roles found from {comment}")
                where = sources.get(f"nodes.{node['name']}.interfaces")
                if where:
                    out.append(f"  # {node['name']}: interface mgmt found as {where}")
                out.append("  " + _dump([node]).replace("\n", "\n  ").rstrip())
        elif key == "auth" and "auth" in sources:
            out.append(f"# auth: read from {sources['auth']}")
            out.append(_dump({key: value}).rstrip())
        else:
            out.append(_dump({key: value}).rstrip())
    if found.endpoints:
        out.append("# Keystone's catalog (for review; monitors ask the catalog themselves):")
        out += [f"#   {e.service} ({e.name}) {e.interface}: {e.url}" for e in found.endpoints]
    if found.unreachable:
        out.append("# NOT asked (unreachable): " + "; ".join(
            f"{n}: {e}" for n, e in found.unreachable.items()))
    out += [f"# note: {note}" for note in found.notes]
    return "\n".join(out) + "\n"


def write(path: str | Path, text: str) -> None:
    """Mode 0600: the inventory holds SSH and BMC secrets like the one it came from."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
