"""Inputs that cannot hurt: every file is read with a bounded read of a regular file, a
Yardstick template cannot build more than the limit, and a directory of nothing is no pass.

The command-line cases run ``ha-tests`` as a child with its address space capped, so that
a reader that still trusted ``st_size`` fails with a MemoryError instead of eating the
machine, and with a timeout, so that one that blocks on a FIFO fails instead of hanging.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from ha_tests.errors import ExitCode, InputError
from ha_tests.yamlsource import MAX_FILE_BYTES
from ha_tests.yardstick.template import render

TASK_HEAD = '---\nschema: "yardstick:task:0.1"\ndescription: test\n'


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def ha_tests(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ha_tests.cli", *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=_cap_memory)


def refused(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == ExitCode.BAD_INPUT, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    refused(ha_tests("validate", str(fifo)), str(fifo), "FIFO", "not a regular file")


def test_dev_zero_is_refused_not_read_forever():
    refused(ha_tests("validate", "/dev/zero"), "/dev/zero", "character device")


def test_a_fifo_as_the_inventory_is_refused(tmp_path):
    fifo = tmp_path / "inventory.yaml"
    os.mkfifo(fifo)
    refused(ha_tests("validate", "--inventory", str(fifo)), str(fifo), "FIFO")


def test_the_size_is_what_is_read_not_what_stat_says(tmp_path):
    """/proc files claim a size of 0 whatever they hold; a bounded read is the only truth."""
    from ha_tests.yamlsource import read_text

    big = tmp_path / "big.yaml"
    big.write_text("x: " + "y" * (MAX_FILE_BYTES + 1) + "\n")
    with pytest.raises(InputError, match="larger than"):
        read_text(big)
    assert read_text("/proc/self/status").startswith("Name:")  # st_size 0, read anyway


def test_a_yardstick_file_has_the_same_limit(tmp_path):
    """A 2 MiB Jinja comment renders to nothing: the limit is on the file, not its output."""
    task = tmp_path / "opnfv_yardstick_tc999.yaml"
    task.write_text(TASK_HEAD + "{# " + "x" * (2 << 20) + " #}\nscenarios: []\n")
    refused(ha_tests("validate", str(task)), str(task), "larger than")


def test_a_yardstick_template_cannot_build_500_mb(tmp_path):
    task = tmp_path / "opnfv_yardstick_tc998.yaml"
    task.write_text(TASK_HEAD + 'description: {{ "x" * 500000000 }}\nscenarios: []\n')
    refused(ha_tests("validate", str(task)), str(task), "builds too much")


@pytest.mark.parametrize("template", [
    '{{ "x" * 20000000 }}',
    '{{ 20000000 * "x" }}',
    '{% set ns = namespace(x="x" * 1000) %}{% for i in range(15) %}'
    '{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x|length }}',
    '{% set ns = namespace(x="x" * 1000) %}{% for i in range(15) %}'
    '{% set ns.x = ns.x + ns.x %}{% endfor %}{{ ns.x|length }}',
    '{{ "x"|center(20000000) }}',
    '{{ "x".ljust(20000000) }}',
    '{{ "%20000000s" % "x" }}',
    '{{ "{:>20000000}".format("x") }}',
    '{{ ("x" * 5000)|replace("x", "y" * 5000) }}',
    '{{ ("x" * 100000)|list|join("y" * 100) }}',
    '{{ 10 ** 20000000 }}',
    '{% for i in range(50000) %}{{ "x" * 100 }}{% endfor %}',
])
def test_every_way_to_grow_a_template_is_bounded(template):
    with pytest.raises(InputError, match="builds too much") as info:
        render(template, {}, "tc.yaml")
    assert info.value.problems[0].file == "tc.yaml"


def test_an_ordinary_template_still_renders():
    text = ('a: {{ "b" ~ 1 }}\nc: {{ [1, 2]|join(",") }}\nd: "{{ "%3s" % "x" }}"\n'
            'e: {{ "{}-{}".format(1, 2) }}\nf: {{ 2 ** 10 }}\ng: {{ "ab" * 3 }}\n')
    assert render(text, {}, "tc.yaml") == ('a: b1\nc: 1,2\nd: "  x"\ne: 1-2\nf: 1024\n'
                                           'g: ababab')


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_directory_without_scenarios_is_an_error(tmp_path, command):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a scenario\n")
    refused(ha_tests(command, str(empty)), str(empty), "no scenario", "*.yaml")


def test_a_directory_of_yml_files_says_how_to_name_them(tmp_path):
    (tmp_path / "kill.yml").write_text("name: kill\n")
    refused(ha_tests("validate", str(tmp_path)), "rename kill.yml to .yaml")
