"""Real OpenSSH on every node: per-node host keys, key login for root with the lab's key.

``UsePAM no`` and ``StrictModes no`` because the lab's files live under a shared directory
owned by the runner, and ``PidFile none`` because every node sees the same filesystem.
"""

from __future__ import annotations

from pathlib import Path

from ha_tests.lab.system import run

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
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
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
