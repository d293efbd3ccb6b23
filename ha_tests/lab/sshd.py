"""Real OpenSSH on every node: per-node host keys, root's login with the lab's key or the
lab's SSH password (Yardstick's pod.yaml gives either, and installers' inventories too).

``UsePAM no`` and ``StrictModes no`` because the lab's files live under a shared directory
owned by the runner, and ``PidFile none`` because every node sees the same filesystem. The
password is checked against the node's own ``/etc/shadow``: the host's, with root's hash
replaced by the lab password's, bind-mounted over ``/etc/shadow`` in the node's mount
namespace only (the host's root password is never read, changed or accepted).
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab.system import run, write_secret

HOST_SHADOW = Path("/etc/shadow")

SSHD = "/usr/sbin/sshd"
# sshd keeps its command line in its listener's title ("sshd: /usr/sbin/sshd -D ... [listener]").
PROCESS_REGEX = r"^(sshd: )?/usr/sbin/sshd -D"


def make_key(path: Path, comment: str) -> str:
    """Create an ed25519 key pair (if missing); the public key line."""
    if not path.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return Path(f"{path}.pub").read_text().strip()


def config(node_dir: Path, authorized_keys: Path) -> str:
    return f"""\
# sshd of a lab node, written by ha-tests lab
Port 22
ListenAddress 0.0.0.0
HostKey {node_dir}/ssh_host_ed25519_key
AuthorizedKeysFile {authorized_keys}
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
UseDNS no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
"""


def service(node_dir: Path) -> dict:
    return {"name": "sshd", "path": SSHD,
            "argv": [SSHD, "-D", "-e", "-f", str(node_dir / "sshd_config")]}


def password_hash(password: str) -> str:
    """SHA-512 crypt of ``password``, what Debian's shadow holds (``openssl passwd -6``)."""
    result = run(["openssl", "passwd", "-6", "-stdin"], input=password, redact=password)
    return result.stdout.strip()


def write_shadow(path: Path, password: str, host_shadow: Path = HOST_SHADOW) -> Path:
    """The nodes' ``/etc/shadow``: the host's, root's hash replaced by ``password``'s."""
    hashed = password_hash(password)
    lines = []
    for line in host_shadow.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "root" and len(fields) > 1:
            fields[1] = hashed
            if len(fields) > 7:
                fields[7] = ""  # never expires
        lines.append(":".join(fields))
    write_secret(path, "\n".join(lines) + "\n")
    return path
