"""Installers' own inventories, written for a lab's machines as an operator would: shared by
the discovery tests (tests/lab) and the full lab's post-deploy runs (tests/full)."""

from __future__ import annotations

import yaml


def tripleo_inventory(lab, path):
    """A TripleO ``tripleo-ansible-inventory.yaml`` for the lab's machines (trimmed)."""
    key, known = lab.dir / "ssh" / "id_ed25519", lab.dir / "ssh" / "known_hosts"
    controllers = {f"overcloud-{n.name}": {"ansible_host": n.mgmt_ip}
                   for n in lab.plan.controllers}
    computes = {f"overcloud-{n.name}": {"ansible_host": n.mgmt_ip}
                for n in lab.plan.nodes if not n.is_controller}
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(key),
                 "ansible_ssh_common_args": f"-o UserKnownHostsFile={known}"},
        "children": {"Controller": {"hosts": controllers}, "Compute": {"hosts": computes},
                     "overcloud": {"children": {"Controller": {}, "Compute": {}}}}}}))
    return path
