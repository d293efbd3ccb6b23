"""The layering lint (``lint-imports`` with .importlinter, run by ``tox -e lint``).

On a tiny package of its own the check must pass, then fail once a cycle is added, even one
hidden in a function; on ha_tests itself it may report only the import cycles known today
(being removed, issue 17), so a new cycle or a new import against the layers fails here,
in CI, before it lands.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or \
    shutil.which("lint-imports")

#: imports against the layers that ha_tests still has (none since 2026-12-01): keep it empty
KNOWN: set[tuple[str, str]] = set()

CONFIG = """\
[importlinter]
root_package = toy

[importlinter:contract:no-cycles]
name = no cycles
type = acyclic_siblings
ancestors = toy

[importlinter:contract:layers]
name = layers
type = layers
containers = toy
layers =
    high
    low
"""

pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is not installed "
                                "(pip install -e '.[test]')")


def lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def toy_package(tmp_path: Path) -> Path:
    package = tmp_path / "toy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def base():\n    return 1\n")
    (package / "high.py").write_text("from toy.low import base\n\n\ndef top():\n"
                                     "    return base()\n")
    (tmp_path / ".importlinter").write_text(CONFIG)
    return package


def test_the_check_passes_on_a_package_without_cycles(tmp_path):
    toy_package(tmp_path)
    done = lint(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_the_check_fails_when_a_cycle_is_added_even_inside_a_function(tmp_path):
    package = toy_package(tmp_path)
    (package / "low.py").write_text(textwrap.dedent("""\
        def base():
            from toy.high import top  # the cycle hides here, as ha_tests' two did
            return 1 if top else 0
        """))
    done = lint(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "0 kept, 2 broken" in done.stdout
    assert "toy.low -> toy.high (l.2)" in done.stdout


def broken_imports(output: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^- (ha_tests[\w.]*) -> (ha_tests[\w.]*) \(l\.", output, re.M))


def test_ha_tests_breaks_no_layer_beyond_the_known_cycles():
    done = lint(ROOT, "--contract", "layers", "--contract", "lab-is-a-leaf")
    assert done.returncode in (0, 1), done.stdout + done.stderr   # 2+: the config is wrong
    assert "could not" not in done.stdout.lower(), done.stdout
    new = broken_imports(done.stdout) - KNOWN
    assert not new, ("imports against the layers of docs/contracts.rst (move the code, or "
                     f"change the layers there and in .importlinter):\n{done.stdout}")
    assert "The lab is a leaf" in done.stdout and "lab is a leaf: it builds a cloud and " \
        "knows nothing of what tests it KEPT" in done.stdout


def test_ha_tests_has_no_cycle_inside_any_of_its_packages():
    """Cycles between ha_tests' top-level modules all cross a layer (the test above); any
    cycle inside a package (attackers, lab, yardstick, ...) is new."""
    done = lint(ROOT, "--contract", "no-cycles")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    packages = set(re.findall(r"No cycles are allowed in ([\w.]+)\.", done.stdout))
    assert packages <= {"ha_tests"}, done.stdout
