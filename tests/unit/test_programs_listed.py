"""Every external program the code runs is in .ci/programs.txt, which .ci/fresh-machine asks,
inside a fresh Debian 12 root after ``./bootstrap.sh setup``, to answer.

What the scan sees: argv lists handed to run/Popen/check_output/check_call/call (subprocess's
and the transports' alike), ``shutil.which("...")`` and absolute paths under /usr/bin, /usr/sbin
and /usr/lib. What it cannot see (a program named inside a shell script string) is listed by
hand; the fresh root then proves the whole list installed.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PATTERNS = (
    re.compile(r'\b(?:run|Popen|check_output|check_call|call)\(\s*\[\s*"([^"\s/]+)"'),
    re.compile(r'shutil\.which\(\s*"([^"]+)"'),
    re.compile(r'"/usr/(?:s?bin|lib/[\w.-]+/bin)/([\w.+-]+)"'),  # a path alone, not a cmdline
)
#: named in code but never run on this machine: a real cloud's nodes run them, a fallback
#: name of another distribution, or a process's command line in test data
NOT_RUN_HERE = {"systemctl", "docker", "podman", "pcs", "chromium-browser", "keystone-monitor"}


def listed_programs() -> set[str]:
    names = set()
    for line in (REPO / ".ci/programs.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split()[0])
    return names


def programs_called(text: str) -> set[str]:
    return {match for pattern in PATTERNS for match in pattern.findall(text)}


def test_the_scan_finds_programs_in_each_form():
    source = ('subprocess.run(["depmod", "-b", root])\nshell.run(["tc", "qdisc"])\n'
              'shutil.which("busybox")\nHAPROXY = "/usr/sbin/haproxy"\n'
              'SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"\n')
    assert programs_called(source) == {"depmod", "tc", "busybox", "haproxy", "rabbitmq-server"}


def test_every_program_the_code_runs_is_listed_for_the_fresh_machine_check():
    listed = listed_programs()
    unlisted: dict[str, list[str]] = {}
    for tree in ("ha_tests", "tests", "benchmarks"):
        for path in sorted((REPO / tree).rglob("*.py")):
            if path.name == Path(__file__).name:
                continue
            for program in programs_called(path.read_text(encoding="utf-8")):
                if program not in listed and program not in NOT_RUN_HERE:
                    unlisted.setdefault(program, []).append(str(path.relative_to(REPO)))
    assert not unlisted, (
        "programs the code runs that .ci/programs.txt does not list (add each with the command "
        "that makes it answer, and its Debian package to bootstrap.sh's APT_PACKAGES): "
        f"{unlisted}")


def test_every_listed_program_is_installed_here():
    """This machine ran bootstrap.sh: what the list names must answer here too."""
    import shutil

    missing = [name for name in sorted(listed_programs())
               if shutil.which(name) is None and not (REPO / ".venv/bin" / name).exists()
               and not Path(f"/usr/lib/rabbitmq/bin/{name}").exists()
               and not Path(f"/usr/sbin/{name}").exists()]
    assert not missing, f"listed but not installed by ./bootstrap.sh setup: {missing}"
