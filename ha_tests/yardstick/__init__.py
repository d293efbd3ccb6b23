"""Run OPNFV Yardstick's own HA test cases (ServiceHA, GeneralHA) unchanged, measured honestly.

A Yardstick task file is a Jinja2 template rendered with task-args; its nodes live in a
``pod.yaml``. This package renders it exactly as Yardstick does, maps each scenario onto the
native scenario model (so the one engine runs it) and writes Yardstick's own output record.
What is supported, warned and refused: docs/yardstick.rst.
"""

from ha_tests.yardstick.loader import (
    YardstickCase,
    convert,
    convert_cases,
    is_yardstick_file,
    load_cases,
    load_yardstick,
)

__all__ = ["YardstickCase", "convert", "convert_cases", "is_yardstick_file", "load_cases",
           "load_yardstick"]
