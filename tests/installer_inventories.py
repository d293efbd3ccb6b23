"""Installers' own inventories, written for a lab's machines as an operator would: shared by
the discovery tests (tests/lab) and the full lab's post-deploy runs (tests/full)."""

from __future__ import annotations

import yaml

from ha_tests.inventory import load_inventory


def kolla_multinode(lab, path):
    """A kolla-ansible ``multinode`` as an operator writes it for these machines."""
    key, known = lab.dir / "ssh" / "id_ed25519", lab.dir / "ssh" / "known_hosts"

    def host(node):
        bmc = load_inventory(lab.inventory_path).node(node.name).bmc
        return (f"{node.name} ansible_host={node.mgmt_ip} ipmi_address={bmc.address} "
                f"ipmi_port={bmc.port} ipmi_username={bmc.username} "
                f"ipmi_password={bmc.password.get_secret_value()}")

    lines = ["# kolla-ansible multinode for the lab's machines", "[control]"]
    lines += [host(n) for n in lab.plan.controllers]
    lines += ["", "[network:children]", "control", "", "[compute]"]
    lines += [host(n) for n in lab.plan.nodes if not n.is_controller]
    lines += ["", "[monitoring:children]", "control", "", "[baremetal:children]", "control",
              "compute", "", "[all:vars]", "ansible_user=root",
              f"ansible_ssh_private_key_file={key}",
              f"ansible_ssh_common_args='-o UserKnownHostsFile={known}'", ""]
    path.write_text("\n".join(lines))
    return path


def tripleo_inventory(lab, path):
    """A TripleO ``tripleo-ansible-inventory.yaml`` for the lab's machines (trimmed), with
    each node's BMC filled in as hostvars (TripleO keeps them in instackenv.json; an
    operator adds them, as the issue's pipelines do)."""
    key, known = lab.dir / "ssh" / "id_ed25519", lab.dir / "ssh" / "known_hosts"
    bmcs = load_inventory(lab.inventory_path)

    def host(node):
        bmc = bmcs.node(node.name).bmc
        return {"ansible_host": node.mgmt_ip, "ipmi_address": bmc.address,
                "ipmi_port": bmc.port, "ipmi_username": bmc.username,
                "ipmi_password": bmc.password.get_secret_value()}

    controllers = {f"overcloud-{n.name}": host(n) for n in lab.plan.controllers}
    computes = {f"overcloud-{n.name}": host(n) for n in lab.plan.nodes if not n.is_controller}
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(key),
                 "ansible_ssh_common_args": f"-o UserKnownHostsFile={known}"},
        "children": {"Controller": {"hosts": controllers}, "Compute": {"hosts": computes},
                     "overcloud": {"children": {"Controller": {}, "Compute": {}}}}}}))
    return path
